"""Turning text cells into typed values, column at a time, with a reason for every failure.

Conversions are polars expressions so that a million-row file is validated in vectorised
code; the few values the fast parsers cannot read are retried with the exact Python parser
before they are rejected, so the fast path never rejects a value the slow one accepts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from revmachine.ingest.csvfile import LINE, CsvTable
from revmachine.ingest.errors import RejectCode, RowRejection
from revmachine.ingest.fields import FieldKind, FieldSpec
from revmachine.ingest.mapping import ColumnMapping
from revmachine.model.emails import EmailError, normalise_email
from revmachine.model.timestamps import TimestampError, parse_date, parse_timestamp

ATTRIBUTES = "attributes"
_ERR = "__err__"
# Plain ASCII dot-atom addresses: these are valid for email-validator too. Anything else
# (quoted local parts, international domains, typos) gets email-validator's exact verdict.
_EMAIL_SHAPE = (
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
)
_SPECIAL_USE = r"\.(arpa|invalid|local|localhost|onion|test)$"
# Labels with '--' in 3rd and 4th position ('xn--' Punycode, reserved IDNA forms): only
# email-validator can tell whether they are valid and what their normal form is.
_IDNA_HYPHENS = r"[@.][a-z0-9]{2}--"
# email-validator's (and the email columns') limit on the whole address.
_MAX_EMAIL = 254
#: Whole numbers are stored in 32-bit INTEGER columns.
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
#: Digits before the decimal point that every NUMERIC(16, 2)/(18, 2) column can hold.
_MAX_INT_DIGITS = 14
_TRUE = ("true", "t", "yes", "y", "1", "x")
_FALSE = ("false", "f", "no", "n", "0")
_TS = pl.Datetime("us", "UTC")
_NO_TEXT = pl.lit(None, pl.String)


@dataclass(frozen=True)
class Converted:
    """Typed columns named by field (plus `__line__` and `attributes`), and rejected rows."""

    frame: pl.DataFrame
    rejections: list[RowRejection]


def _err_name(field: str) -> str:
    return f"{_ERR}{field}"


def _timestamp_expr(col: pl.Expr) -> pl.Expr:
    s = col.str.strip_chars().str.replace(r"[zZ]$", "+00:00")

    def aware(fmt: str) -> pl.Expr:
        return s.str.to_datetime(fmt, strict=False, time_unit="us", time_zone="UTC")

    def naive(fmt: str) -> pl.Expr:
        return s.str.to_datetime(fmt, strict=False, time_unit="us").dt.replace_time_zone("UTC")

    return pl.coalesce(
        aware("%Y-%m-%dT%H:%M:%S%.f%:z"),
        aware("%Y-%m-%d %H:%M:%S%.f%:z"),
        naive("%Y-%m-%dT%H:%M:%S%.f"),
        naive("%Y-%m-%d %H:%M:%S%.f"),
        naive("%Y-%m-%dT%H:%M"),
        naive("%Y-%m-%d %H:%M"),
        s.str.to_date("%Y-%m-%d", strict=False).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
    )


#: The shape nearly every export uses, 'YYYY-MM-DDTHH:MM:SS' with an optional Z.
_PLAIN_ISO = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[zZ]?$"


def _plain_iso_expr(col: pl.Expr) -> pl.Expr:
    """`_timestamp_expr` for the plain ISO shape only; null for any other shape.

    polars evaluates every branch of a `coalesce` on every row, and the formats with `%.f`
    or `%:z` leave its fast parser, so the full expression costs ~2 s per million values.
    This one costs ~0.1 s, and for the shape it accepts it gives exactly what the full
    expression's first matching format gives (the time as UTC); `_retry_formats` then runs
    the full expression on the rows left null, so no value is parsed differently.
    """
    s = col.str.strip_chars()
    # cache=False: event times are nearly all distinct, so a cache of parsed strings only
    # costs its hashing.
    parsed = s.str.slice(0, 19).str.to_datetime(
        "%Y-%m-%dT%H:%M:%S", strict=False, time_unit="us", cache=False
    )
    return pl.when(s.str.contains(_PLAIN_ISO)).then(parsed.dt.replace_time_zone("UTC"))


def _unparsed(out: pl.DataFrame, raw: str, name: str) -> bool:
    """Whether some value of `raw` was not parsed into `name`.

    The parsers give null for a null cell, so a parsed column with more nulls than its
    text column has a failure: counted from the columns' metadata, without running a
    query (each query costs a fixed ~0.1 ms, the most of a one-record API batch)."""
    return out.get_column(name).null_count() > out.get_column(raw).null_count()


def _retry_formats(out: pl.DataFrame, raw: str, name: str, date: bool) -> pl.DataFrame:
    """Parse the values `_plain_iso_expr` left null with every accepted format."""
    if not _unparsed(out, raw, name):
        return out
    full = _timestamp_expr(pl.when(pl.col(name).is_null()).then(pl.col(raw)))
    return out.with_columns(pl.coalesce(pl.col(name), full.dt.date() if date else full).alias(name))


def _fallback(frame: pl.DataFrame, raw: str, parsed: str, fn: Any, dtype: pl.DataType) -> pl.Series:
    """Retry values the vectorised parser left null with the exact Python parser."""
    if not _unparsed(frame, raw, parsed):
        return frame[parsed]
    failed = frame.filter(pl.col(raw).is_not_null() & pl.col(parsed).is_null())[raw].unique()
    if failed.len() == 0:
        return frame[parsed]
    recovered: dict[str, Any] = {}
    for value in failed.to_list():
        try:
            recovered[value] = fn(value)
        except (TimestampError, ValueError):
            continue
    if not recovered:
        return frame[parsed]
    keys = list(recovered)
    lookup = pl.Series(raw, keys).replace_strict(keys, list(recovered.values()), return_dtype=dtype)
    retry = frame[raw].replace_strict(keys, lookup, default=None, return_dtype=dtype)
    return frame[parsed].fill_null(retry)


def convert(table: CsvTable, mapping: ColumnMapping, specs: Sequence[FieldSpec]) -> Converted:
    frame = table.frame
    exprs: list[pl.Expr] = [pl.col(LINE)]
    errs: list[pl.Expr] = []
    post: list[FieldSpec] = []
    for spec in specs:
        column = mapping.column(spec.name)
        if column is None:
            continue
        raw = pl.col(column)
        name = spec.name
        err: pl.Expr | None = None
        value: pl.Expr
        if spec.kind in (FieldKind.TEXT, FieldKind.JSON):
            value = raw.str.strip_chars()
            if spec.max_length:
                err = (
                    pl.when(value.str.len_chars() > spec.max_length)
                    .then(
                        pl.format(
                            f"the value has {{}} characters; the limit is {spec.max_length}",
                            value.str.len_chars(),
                        )
                    )
                    .otherwise(None)
                )
        elif spec.kind is FieldKind.EMAIL:
            value = raw.str.strip_chars().str.to_lowercase()
            post.append(spec)
        elif spec.kind is FieldKind.TIMESTAMP:
            value = _plain_iso_expr(raw)
            post.append(spec)
        elif spec.kind is FieldKind.DATE:
            value = _plain_iso_expr(raw).dt.date()
            post.append(spec)
        elif spec.kind is FieldKind.INT:
            number = raw.str.replace_all(r"[\s,_]", "").cast(pl.Float64, strict=False)
            whole = (number == number.round(0)).fill_null(False)
            in_range = ((number >= _INT_MIN) & (number <= _INT_MAX)).fill_null(False)
            value = pl.when(whole & in_range).then(number).cast(pl.Int64, strict=False)
            err = (
                pl.when(raw.is_not_null() & value.is_null())
                .then(
                    pl.when(whole & number.is_finite())
                    .then(pl.format(f"'{{}}' is out of range (the limit is {_INT_MAX})", raw))
                    .otherwise(pl.format("'{}' is not a whole number", raw))
                )
                .otherwise(None)
            )
        elif spec.kind is FieldKind.DECIMAL:
            cleaned = raw.str.replace_all(r"[\s$€£,]", "")
            number_like = cleaned.str.contains(r"^-?\d+(\.\d+)?$").fill_null(False)
            fits = cleaned.str.contains(rf"^-?0*\d{{1,{_MAX_INT_DIGITS}}}(\.|$)").fill_null(False)
            ok = number_like & fits
            value = pl.when(ok).then(cleaned).otherwise(None)
            err = (
                pl.when(raw.is_not_null() & ~ok)
                .then(
                    pl.when(number_like)
                    .then(
                        pl.format(
                            f"'{{}}' is too large (at most {_MAX_INT_DIGITS} digits before the "
                            "decimal point)",
                            raw,
                        )
                    )
                    .otherwise(pl.format("'{}' is not a number", raw))
                )
                .otherwise(None)
            )
        elif spec.kind is FieldKind.BOOL:
            low = raw.str.strip_chars().str.to_lowercase()
            value = (
                pl.when(low.is_in(_TRUE))
                .then(True)
                .when(low.is_in(_FALSE))
                .then(False)
                .otherwise(None)
            )
            err = (
                pl.when(raw.is_not_null() & value.is_null())
                .then(pl.format("'{}' is not yes/no (use true/false, yes/no or 1/0)", raw))
                .otherwise(None)
            )
        else:  # pragma: no cover - every FieldKind is handled above
            raise AssertionError(spec.kind)
        exprs.append(value.alias(name))
        exprs.append(raw.alias(f"__raw__{name}"))
        if spec.required:
            missing = (
                pl.when(raw.is_null())
                .then(pl.lit(f"the required value '{name}' is empty"))
                .otherwise(None)
            )
            err = missing if err is None else pl.coalesce(missing, err)
        errs.append((err if err is not None else _NO_TEXT).alias(_err_name(name)))
    for extra in mapping.extra_columns:
        exprs.append(pl.col(extra).alias(f"__extra__{extra}"))
    out = frame.select(*exprs, *errs)
    out = _post_process(out, post)
    out = _attributes(out, mapping)
    return _split(out, specs, mapping)


def _post_process(out: pl.DataFrame, post: list[FieldSpec]) -> pl.DataFrame:
    for spec in post:
        raw, name, err = f"__raw__{spec.name}", spec.name, _err_name(spec.name)
        if spec.kind is FieldKind.TIMESTAMP:
            out = _retry_formats(out, raw, name, date=False)
            if _unparsed(out, raw, name):
                out = out.with_columns(_fallback(out, raw, name, parse_timestamp, _TS).alias(name))
            message = "'{}' is not a date-time (use ISO 8601, e.g. 2025-03-01T14:30:00Z)"
        elif spec.kind is FieldKind.DATE:
            out = _retry_formats(out, raw, name, date=True)
            if _unparsed(out, raw, name):
                out = out.with_columns(_fallback(out, raw, name, parse_date, pl.Date()).alias(name))
            message = "'{}' is not a date (use ISO 8601, e.g. 2025-03-01)"
        else:
            out = _check_emails(out, spec)
            continue
        if not _unparsed(out, raw, name):
            continue
        bad = pl.col(raw).is_not_null() & pl.col(name).is_null()
        out = out.with_columns(
            pl.coalesce(
                pl.col(err), pl.when(bad).then(pl.format(message, pl.col(raw))).otherwise(None)
            ).alias(err)
        )
    return out


def _check_emails(out: pl.DataFrame, spec: FieldSpec) -> pl.DataFrame:
    """Shape check in bulk; addresses that fail it get email-validator's exact verdict.

    Checked once per distinct address: an event log names each person many times.
    """
    name, raw, err = spec.name, f"__raw__{spec.name}", _err_name(spec.name)
    plain = (
        pl.col(name).str.contains(_EMAIL_SHAPE)
        & ~pl.col(name).str.contains(_SPECIAL_USE)
        & ~pl.col(name).str.contains(_IDNA_HYPHENS)
        & (pl.col(name).str.len_bytes() <= _MAX_EMAIL)
    )
    distinct = out.lazy().select(pl.col(name).drop_nulls().unique())
    suspect = distinct.filter(~plain).collect().get_column(name)
    raws: list[str] = []
    if suspect.len():
        raws = out.filter(pl.col(name).is_in(suspect.implode()))[raw].unique().to_list()
    fixes: dict[str, str] = {}
    problems: dict[str, str] = {}
    for value in raws:
        try:
            fixes[value] = normalise_email(value)
        except EmailError as exc:
            problems[value] = str(exc)
    if fixes:
        out = out.with_columns(
            pl.col(raw)
            .replace_strict(list(fixes), list(fixes.values()), default=pl.col(name))
            .alias(name)
        )
    if problems:
        out = out.with_columns(
            pl.coalesce(
                pl.col(err),
                pl.col(raw).replace_strict(
                    list(problems), list(problems.values()), default=None, return_dtype=pl.String
                ),
            ).alias(err)
        )
    return out


def _json_fragment(column: str, key: str) -> pl.Expr:
    # '{"key":"value"}' -> '"key":"value"': polars does the JSON escaping of key and value.
    encoded = pl.struct(pl.col(column).alias(key)).struct.json_encode()
    return pl.when(pl.col(column).is_not_null()).then(encoded.str.slice(1, None).str.head(-1))


def _attributes(out: pl.DataFrame, mapping: ColumnMapping) -> pl.DataFrame:
    """Combine an explicit `attributes` JSON column and unmapped columns into one object."""
    # Keys in name order: the same values give the same text whatever the column order
    # (derived event ids hash it).
    extras = sorted(mapping.extra_columns)
    if extras:
        fragments = [_json_fragment(f"__extra__{c}", c) for c in extras]
        joined = pl.concat_str(fragments, separator=",", ignore_nulls=True)
        # A row with no extra value gets no document (null, not "{}").
        present = pl.any_horizontal(pl.col(f"__extra__{c}").is_not_null() for c in extras)
        extra_json = pl.when(present).then(pl.concat_str(pl.lit("{"), joined, pl.lit("}")))
        out = out.with_columns(extra_json.alias("__extra_json__"))
    elif mapping.column(ATTRIBUTES) is None:
        return out.with_columns(_NO_TEXT.alias(ATTRIBUTES))
    else:
        out = out.with_columns(_NO_TEXT.alias("__extra_json__"))
    if mapping.column(ATTRIBUTES) is None:
        return out.with_columns(pl.col("__extra_json__").alias(ATTRIBUTES))
    merged: list[str | None] = []
    errors: list[str | None] = []
    for explicit, extra, prior in out.select(
        ATTRIBUTES, "__extra_json__", _err_name(ATTRIBUTES)
    ).iter_rows():
        if explicit is None:
            merged.append(extra)
            errors.append(prior)
            continue
        try:
            doc = json.loads(explicit)
        except json.JSONDecodeError as exc:
            merged.append(None)
            errors.append(prior or f"attributes is not valid JSON: {exc.msg}")
            continue
        if not isinstance(doc, dict):
            merged.append(None)
            errors.append(prior or 'attributes must be a JSON object such as {"key": "value"}')
            continue
        if extra is not None:
            doc.update(json.loads(extra))
        merged.append(json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False))
        errors.append(prior)
    return out.with_columns(
        pl.Series(ATTRIBUTES, merged, dtype=pl.String),
        pl.Series(_err_name(ATTRIBUTES), errors, dtype=pl.String),
    )


_CODES = {
    FieldKind.EMAIL: RejectCode.BAD_EMAIL,
    FieldKind.TIMESTAMP: RejectCode.BAD_DATE,
    FieldKind.DATE: RejectCode.BAD_DATE,
    FieldKind.INT: RejectCode.BAD_NUMBER,
    FieldKind.DECIMAL: RejectCode.BAD_NUMBER,
    FieldKind.BOOL: RejectCode.BAD_VALUE,
    FieldKind.JSON: RejectCode.BAD_VALUE,
    FieldKind.TEXT: RejectCode.OVERSIZED_FIELD,
}


def _split(out: pl.DataFrame, specs: Sequence[FieldSpec], mapping: ColumnMapping) -> Converted:
    # Error columns entirely null (counted without a query) mean a batch with no errors.
    err_cols = [c for c in out.columns if c.startswith(_ERR)]
    err_cols = [c for c in err_cols if out.get_column(c).null_count() < out.height]
    any_err = pl.any_horizontal(pl.col(c).is_not_null() for c in err_cols) if err_cols else None
    rejections: list[RowRejection] = []
    if any_err is not None:
        by_name = {s.name: s for s in specs}
        for row in out.filter(any_err).select(LINE, *err_cols).iter_rows(named=True):
            for col in err_cols:
                message = row[col]
                if message is None:
                    continue
                spec = by_name[col.removeprefix(_ERR)]
                code = _CODES[spec.kind]
                if message.startswith("the required value"):
                    code = RejectCode.MISSING_REQUIRED
                elif message.startswith("the value has"):
                    code = RejectCode.OVERSIZED_FIELD
                rejections.append(RowRejection(row[LINE], code, mapping.column(spec.name), message))
        out = out.filter(~any_err)
    keep = [c for c in out.columns if not c.startswith("__") or c == LINE]
    # Built from the columns themselves: `select` would run a query to pick them.
    return Converted(pl.DataFrame([out.get_column(c) for c in keep]), rejections)
