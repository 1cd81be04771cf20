"""Validate the predictive model on public data no one on this project wrote.

Runs the package's own fitting code (`revmachine.predict.learn.fit`: LightGBM and a
logistic-regression baseline, both Platt-calibrated on a middle part, the better one on
that part chosen) on two data sets, and reports on a last part that no step saw:

1. UCI Bank Marketing (`bank-additional-full.csv`; Moro, Cortez & Rita 2014, best model
   AUC 0.80). `duration` is left out: it is known only after the call. `pdays` 999 means
   "never contacted before" and becomes missing. A random split (60/20/20, stratified),
   a time-ordered one (rows are in time order: first 60 % train, next 20 % calibrate,
   last 20 % validate), and a rolling one closer to how Moro et al. evaluated and how
   the product runs (retrained as history grows): the last 20 % in blocks of 2,000
   contacts, each block scored by models fitted on every earlier contact (the last
   tenth of them for calibration); and a second rolling run nearer Moro et al.'s setup
   (a window of the 20,000 latest contacts, retrained every 500), with one more column
   known before each call: the conversion rate of the 500 contacts before it (the
   rolling evaluation already assumes earlier calls' outcomes are known, and a call's
   outcome is known when it ends).
2. X Education leads (`Leads.csv`; published logistic regression on pre-contact columns:
   AUC about 0.88). Only columns known before sales contact: `Tags`, `Lead Quality`,
   `Lead Profile`, the `Asymmetrique` indices and scores are left out. `Last Activity` and
   `Last Notable Activity` include sales actions (an SMS sent, a phone conversation), so
   the strict run leaves them out too; the second run keeps them, as the published
   notebooks do. Random split 60/20/20, and one ordered by `Lead Number` (assumed to grow
   with time).

    python bench/validate_predict.py --data ../shared/data
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import polars as pl

from revmachine.predict.encode import FeatureKind, FeatureSpec
from revmachine.predict.learn import fit
from revmachine.predict.metrics import Evaluation, evaluate

LABEL = "converted"

BANK_NUMBERS = [
    "age",
    "campaign",
    "pdays",
    "previous",
    "emp.var.rate",
    "cons.price.idx",
    "cons.conf.idx",
    "euribor3m",
    "nr.employed",
]
BANK_CATEGORIES = [
    "job",
    "marital",
    "education",
    "default",
    "housing",
    "loan",
    "contact",
    "month",
    "day_of_week",
    "poutcome",
]

XED_NUMBERS = ["TotalVisits", "Total Time Spent on Website", "Page Views Per Visit"]
XED_LEAKS = [
    "Tags",
    "Lead Quality",
    "Lead Profile",
    "Asymmetrique Activity Index",
    "Asymmetrique Profile Index",
    "Asymmetrique Activity Score",
    "Asymmetrique Profile Score",
]
XED_SALES_ACTIVITY = ["Last Activity", "Last Notable Activity"]
XED_IDS = ["Prospect ID", "Lead Number", "Converted"]


def bank(data: Path) -> tuple[pl.DataFrame, tuple[FeatureSpec, ...]]:
    frame = pl.read_csv(
        data / "uci_bank_marketing" / "bank-additional-full.csv",
        separator=";",
        infer_schema_length=50_000,
    )
    frame = frame.with_columns(
        pl.when(pl.col("pdays") == 999).then(None).otherwise(pl.col("pdays")).alias("pdays"),
        (pl.col("y") == "yes").cast(pl.Int8).alias(LABEL),
    ).drop("duration", "y")
    specs = tuple(FeatureSpec(c) for c in BANK_NUMBERS) + tuple(
        FeatureSpec(c, FeatureKind.CATEGORY) for c in BANK_CATEGORIES
    )
    return frame, specs


def x_education(data: Path, *, strict: bool) -> tuple[pl.DataFrame, tuple[FeatureSpec, ...]]:
    frame = pl.read_csv(
        data / "x_education_leads" / "Leads.csv", infer_schema_length=0
    )  # every column as text
    frame = frame.with_columns(
        *(pl.col(c).cast(pl.Float64, strict=False) for c in XED_NUMBERS),
        pl.col("Converted").cast(pl.Int8).alias(LABEL),
        pl.col("Lead Number").cast(pl.Int64),
    ).sort("Lead Number")
    dropped = set(XED_LEAKS + XED_IDS + (XED_SALES_ACTIVITY if strict else []))
    categories = [c for c in frame.columns if c not in dropped | set(XED_NUMBERS) | {LABEL}]
    specs = tuple(FeatureSpec(c) for c in XED_NUMBERS) + tuple(
        FeatureSpec(c, FeatureKind.CATEGORY) for c in categories
    )
    return frame, specs


def split(frame: pl.DataFrame, *, ordered: bool, seed: int = 42) -> list[pl.DataFrame]:
    """60/20/20: in row order, or shuffled within each class (stratified)."""
    if ordered:
        n = frame.height
        a, b = int(n * 0.6), int(n * 0.8)
        return [frame[:a], frame[a:b], frame[b:]]
    rng = np.random.default_rng(seed)
    parts: list[list[pl.DataFrame]] = [[], [], []]
    for _, group in frame.group_by(LABEL, maintain_order=True):
        shuffled = group[rng.permutation(group.height)]
        n = group.height
        a, b = int(n * 0.6), int(n * 0.8)
        for i, piece in enumerate((shuffled[:a], shuffled[a:b], shuffled[b:])):
            parts[i].append(piece)
    return [pl.concat(p) for p in parts]


def run(name: str, frame: pl.DataFrame, specs: tuple[FeatureSpec, ...], ordered: bool) -> None:
    train, inner, held_out = split(frame, ordered=ordered)
    fitted = fit(train, inner, specs, LABEL)
    y = held_out.get_column(LABEL).to_numpy()
    results: dict[str, Evaluation] = {
        algorithm.value: evaluate(y, candidate.model.probabilities(held_out))
        for algorithm, candidate in fitted.candidates.items()
    }
    print(f"\n## {name}: {'time-ordered' if ordered else 'random'} split")
    print(
        f"train {train.height:,} / calibrate {inner.height:,} / validate {held_out.height:,}"
        f" (base rate on validation {float(y.mean()):.1%}); chosen on calibration part: "
        f"{fitted.chosen.value}"
    )
    print(f"{'model':<22}{'AUC':>7}{'AP':>7}{'lift10':>8}{'ECE':>7}  top10/20/50% capture")
    for model_name, ev in results.items():
        capture = " / ".join(f"{c.converters_share:.0%}" for c in ev.capture)
        print(
            f"{model_name:<22}{ev.auc:>7.3f}{ev.average_precision:>7.3f}"
            f"{ev.top_decile_lift:>8.2f}{ev.ece:>7.3f}  {capture}"
        )


RECENT = "recent_conversion_rate"


def with_recent_rate(
    frame: pl.DataFrame, specs: tuple[FeatureSpec, ...], contacts: int = 500
) -> tuple[pl.DataFrame, tuple[FeatureSpec, ...]]:
    """Add the conversion rate of the `contacts` rows before each row (never its own)."""
    earlier = pl.col(LABEL).cast(pl.Float64).shift(1)
    frame = frame.with_columns(earlier.rolling_mean(contacts, min_samples=1).alias(RECENT))
    return frame, (*specs, FeatureSpec(RECENT))


def rolling(
    frame: pl.DataFrame,
    specs: tuple[FeatureSpec, ...],
    block: int = 2000,
    window: int | None = None,
    title: str = "rolling time-ordered (last 20 %, blocks of 2,000, retrained)",
) -> None:
    start = int(frame.height * 0.8)
    labels: list[np.ndarray] = []
    scores: dict[str, list[np.ndarray]] = {}
    for at in range(start, frame.height, block):
        first = 0 if window is None else max(0, at - window)
        history, held_out = frame[first:at], frame[at : at + block]
        cut = int(history.height * 0.9)
        fitted = fit(history[:cut], history[cut:], specs, LABEL)
        labels.append(held_out.get_column(LABEL).to_numpy())
        for algorithm, candidate in fitted.candidates.items():
            scores.setdefault(algorithm.value, []).append(candidate.model.probabilities(held_out))
        scores.setdefault("chosen", []).append(fitted.model.probabilities(held_out))
    y = np.concatenate(labels)
    print(f"\n## bank marketing: {title}")
    print(f"{len(labels)} blocks, {len(y):,} contacts (base rate {float(y.mean()):.1%})")
    print(f"{'model':<22}{'AUC':>7}{'AP':>7}{'lift10':>8}{'ECE':>7}  top10/20/50% capture")
    for name, parts in scores.items():
        ev = evaluate(y, np.concatenate(parts))
        capture = " / ".join(f"{c.converters_share:.0%}" for c in ev.capture)
        print(
            f"{name:<22}{ev.auc:>7.3f}{ev.average_precision:>7.3f}"
            f"{ev.top_decile_lift:>8.2f}{ev.ece:>7.3f}  {capture}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    args = parser.parse_args(argv)
    if not (args.data / "uci_bank_marketing").is_dir():
        print(f"no data sets at {args.data}", file=sys.stderr)
        return 2
    frame, specs = bank(args.data)
    print("# UCI Bank Marketing without `duration` (Moro et al. 2014: AUC 0.80)")
    run("bank marketing", frame, specs, ordered=False)
    run("bank marketing", frame, specs, ordered=True)
    rolling(frame, specs)
    recent, recent_specs = with_recent_rate(frame, specs)
    rolling(
        recent,
        recent_specs,
        block=500,
        window=20_000,
        title="rolling, window of 20,000 contacts, retrained every 500, with the "
        "conversion rate of the 500 contacts before each",
    )
    print("\n# X Education leads, pre-contact columns (published logistic regression: ~0.88)")
    for strict in (True, False):
        frame, specs = x_education(args.data, strict=strict)
        label = "strict (no Last Activity)" if strict else "with Last Activity"
        run(f"X Education, {label}", frame, specs, ordered=False)
        run(f"X Education, {label}", frame, specs, ordered=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
