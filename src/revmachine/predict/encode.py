"""Feature descriptions and the encoder that turns a feature frame into a numeric matrix.

A feature is a column of a polars frame, either numeric or a category (text). The encoder
learns, from training data only, which category values are common enough to keep (the
rest become "other"), and turns a frame into a float32 matrix with categories as integer
codes and missing values as NaN — the form LightGBM takes directly. The same encoder is
saved with the model so that scoring encodes exactly as training did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

MAX_CATEGORIES = 50
MIN_CATEGORY_COUNT = 5


class FeatureKind(StrEnum):
    NUMBER = "number"
    CATEGORY = "category"


@dataclass(frozen=True)
class FeatureSpec:
    """One feature and how to say its value to a person (`{value}` is filled in)."""

    name: str
    kind: FeatureKind = FeatureKind.NUMBER
    phrase: str = ""
    missing: str = ""

    def describe(self, value: Any) -> str:
        """The feature's value in words, e.g. '3 web visits in the last 7 days'."""
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return self.missing or f"{self.name} unknown"
        if isinstance(value, float):
            # Whole numbers read best (days, counts); small fractions keep two digits.
            value = round(value) if abs(value) >= 1 or value == 0 else f"{value:.2g}"
        return (self.phrase or f"{self.name} = {{value}}").format(value=value)

    def to_dict(self) -> dict[str, str]:
        return {
            "name": self.name,
            "kind": self.kind.value,
            "phrase": self.phrase,
            "missing": self.missing,
        }

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> FeatureSpec:
        return cls(data["name"], FeatureKind(data["kind"]), data["phrase"], data["missing"])


class FeatureMismatch(ValueError):
    """The frame lacks features the model was trained on."""


@dataclass(frozen=True)
class Encoder:
    features: tuple[FeatureSpec, ...]
    #: For each category feature, the kept values; value i has code i, any other value
    #: has code len(values) ("other"), a missing value is NaN.
    vocabularies: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def fit(cls, frame: pl.DataFrame, features: tuple[FeatureSpec, ...]) -> Encoder:
        _check_columns(frame, features)
        vocabularies = {}
        for spec in features:
            if spec.kind is FeatureKind.CATEGORY:
                counts = (
                    frame.get_column(spec.name).cast(pl.String).drop_nulls().value_counts(sort=True)
                )
                common = counts.filter(pl.col("count") >= MIN_CATEGORY_COUNT).head(MAX_CATEGORIES)
                vocabularies[spec.name] = sorted(common.get_column(spec.name).to_list())
        return cls(features, vocabularies)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    def category_indices(self) -> list[int]:
        return [i for i, f in enumerate(self.features) if f.kind is FeatureKind.CATEGORY]

    def matrix(self, frame: pl.DataFrame) -> NDArray[np.float32]:
        """The frame's features as a float32 matrix in the encoder's column order."""
        _check_columns(frame, self.features)
        exprs = []
        for spec in self.features:
            col = pl.col(spec.name)
            if spec.kind is FeatureKind.CATEGORY:
                vocab = self.vocabularies[spec.name]
                codes = {v: float(i) for i, v in enumerate(vocab)}
                expr = (
                    col.cast(pl.String)
                    .replace_strict(codes, default=float(len(vocab)), return_dtype=pl.Float32)
                    .fill_null(float("nan"))
                )
            else:
                expr = col.cast(pl.Float32).fill_null(float("nan"))
            exprs.append(expr.alias(spec.name))
        return frame.select(exprs).to_numpy().astype(np.float32, copy=False)

    def decode(self, index: int, value: float) -> Any:
        """A matrix cell back to the value a person would recognise."""
        spec = self.features[index]
        if np.isnan(value) or spec.kind is not FeatureKind.CATEGORY:
            return None if np.isnan(value) else float(value)
        vocab = self.vocabularies[spec.name]
        code = int(value)
        return vocab[code] if code < len(vocab) else "another value"

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": [f.to_dict() for f in self.features],
            "vocabularies": self.vocabularies,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Encoder:
        return cls(
            tuple(FeatureSpec.from_dict(f) for f in data["features"]),
            {k: list(v) for k, v in data["vocabularies"].items()},
        )


def _check_columns(frame: pl.DataFrame, features: tuple[FeatureSpec, ...]) -> None:
    missing = [f.name for f in features if f.name not in frame.columns]
    if missing:
        raise FeatureMismatch(f"features missing from the data: {', '.join(missing)}")
