"""Row-level validation shared by every loader.

Loaders read their file as text, rename the columns they know to canonical names and hand the
text to :func:`validate_staged`. It parses each value, checks it against the column's rule and
reports every bad value as a :class:`RowIssue`; the row is then skipped (or, with ``strict``, a
:class:`CatalogError` is raised). Nothing is clipped, rounded or guessed here: a value is either
valid as written or the row is dropped, so a bad file can never leak odd numbers into the model.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from songrec.catalog.schema import AUDIO_FEATURES
from songrec.domain import CatalogError
from songrec.spotify.links import is_spotify_id

log = logging.getLogger(__name__)

_URI_PREFIX_RE = re.compile(r"^(?:spotify:track:|https?://open\.spotify\.com/track/)")
_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")

#: Text that means "no value" in a numeric column, whatever tool wrote the file.
NUMERIC_MISSING = frozenset({"", "NA", "N/A", "NaN", "nan", "NULL", "null", "None"})

#: Audio features Spotify reports as a confidence or proportion, so in [0, 1].
UNIT_FEATURES: tuple[str, ...] = (
    "acousticness",
    "danceability",
    "energy",
    "instrumentalness",
    "valence",
    "liveness",
    "speechiness",
)

MAX_VALUE_CHARS = 200
MAX_ARTIST_TEXT = 10_000


@dataclass(frozen=True)
class RowIssue:
    """One bad value in a source file; ``row`` is the 1-based data row (the header is not counted)."""

    file: str
    row: int
    column: str
    value: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}, row {self.row}, column {self.column!r} = {self.value!r}: {self.reason}"


@dataclass(frozen=True)
class NumericRule:
    """Allowed range of a numeric column; ``integer`` columns also reject fractions."""

    low: float
    high: float
    low_open: bool = False
    integer: bool = False

    def ok(self, values: pd.Series) -> pd.Series:
        above = values > self.low if self.low_open else values >= self.low
        return above & (values <= self.high)

    def describe(self) -> str:
        if math.isinf(self.high):
            return f"must be {'>' if self.low_open else '>='} {self.low:g}"
        if self.integer and self.high - self.low == 1:
            return f"must be {self.low:g} or {self.high:g}"
        return f"must be between {self.low:g} and {self.high:g}"


NUMERIC_RULES: dict[str, NumericRule] = {
    **{c: NumericRule(0.0, 1.0) for c in UNIT_FEATURES},
    "duration_ms": NumericRule(0.0, math.inf, low_open=True),
    "tempo": NumericRule(0.0, math.inf),
    "loudness": NumericRule(-70.0, 10.0),
    "key": NumericRule(-1, 11, integer=True),
    "mode": NumericRule(0, 1, integer=True),
    "explicit": NumericRule(0, 1, integer=True),
    "year": NumericRule(1900, 2030, integer=True),
    "popularity": NumericRule(0.0, 100.0),
}
assert set(AUDIO_FEATURES) <= set(NUMERIC_RULES)

TEXT_COLUMNS: tuple[str, ...] = ("album", "genre", "subgenre")


def normalise_track_id(text: str) -> str:
    """Strip a ``spotify:track:`` / open.spotify.com prefix; the id itself is checked afterwards."""
    text = _URI_PREFIX_RE.sub("", text.strip())
    return text.split("?", 1)[0]


def year_from_date(text: str) -> int | None:
    """Year of a YYYY, YYYY-MM or YYYY-MM-DD date, or None when the text is not such a date."""
    match = _DATE_RE.match(text.strip())
    if not match:
        return None
    month, day = match.group(2), match.group(3)
    if month is not None and not 1 <= int(month) <= 12:
        return None
    if day is not None and not 1 <= int(day) <= 31:
        return None
    return int(match.group(1))


def _shown(value: object) -> str:
    text = str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def fail_if_strict(issues: Sequence[RowIssue], *, strict: bool, what: str, listed: int = 10) -> None:
    """Raise a CatalogError naming the first ``listed`` issues when ``strict`` and there are any."""
    if not strict or not issues:
        return
    lines = "\n".join(f"  - {issue}" for issue in issues[:listed])
    more = f"\n  … and {len(issues) - listed} more" if len(issues) > listed else ""
    raise CatalogError(
        f"{what}: {len(issues)} invalid value(s) (strict mode):\n{lines}{more}\n"
        "Fix these rows or load without strict mode to skip them."
    )


def log_summary(issues: Sequence[RowIssue], what: str) -> None:
    """One warning per file with the number of skipped rows and the first reason."""
    if not issues:
        return
    rows = {(i.file, i.row) for i in issues}
    log.warning("%s: skipped %d row(s) with invalid values, e.g. %s", what, len(rows), issues[0])


def validate_staged(
    staged: pd.DataFrame,
    *,
    file: str,
    required: Collection[str],
    artists_parser: Callable[[str], list[str]] | None = None,
    text_missing: Collection[str] = frozenset({""}),
    rows: Iterable[int] | None = None,
    derive_year: bool = False,
    strict: bool = False,
) -> tuple[pd.DataFrame, list[RowIssue]]:
    """Parse and check a frame of raw text whose columns already carry canonical names.

    ``required`` columns must be present in every row; other columns may be empty (left <NA>, to
    be filled later by the documented imputation). ``derive_year`` takes the year from
    ``release_date`` when the source has no year column. Returns the valid rows, parsed, with
    their index reset, and the issues found (ordered by row).
    """
    n = len(staged)
    row_numbers = np.arange(1, n + 1) if rows is None else np.asarray(list(rows), dtype=np.int64)
    if len(row_numbers) != n:
        raise ValueError("rows must have one number per staged row")
    found: list[tuple[int, int, RowIssue]] = []  # (row, column order, issue)
    bad = np.zeros(n, dtype=bool)
    out: dict[str, object] = {}
    order = {c: i for i, c in enumerate(staged.columns)}

    def report(column: str, mask: np.ndarray, raw: pd.Series, reason: str | Sequence[str]) -> None:
        idx = np.flatnonzero(mask)
        if not len(idx):
            return
        bad[idx] = True
        values = raw.to_numpy()
        for k, i in enumerate(idx):
            why = reason if isinstance(reason, str) else reason[k]
            issue = RowIssue(file, int(row_numbers[i]), column, _shown(values[i]), why)
            found.append((int(row_numbers[i]), order.get(column, len(order)), issue))

    def text(column: str) -> pd.Series:
        return staged[column].astype(object).where(staged[column].notna(), "").astype(str)

    for column in staged.columns:
        raw = text(column)
        stripped = raw.str.strip()
        if column == "track_id":
            ids = stripped.map(normalise_track_id)
            missing = (stripped == "").to_numpy()
            report(column, missing, raw, "missing track id")
            wrong = ~missing & ~ids.map(is_spotify_id).to_numpy(dtype=bool)
            report(column, wrong, raw, "not a Spotify track id (22 letters and digits)")
            out[column] = ids.astype("string")
        elif column == "name":
            missing = stripped.isin(text_missing).to_numpy()
            report(column, missing, raw, "missing track name")
            out[column] = stripped.astype("string").where(~missing, pd.NA)
        elif column == "artists":
            parsed, reasons = _parse_artists(raw, artists_parser, text_missing)
            failed = np.array([r is not None for r in reasons], dtype=bool)
            report(column, failed, raw, [r for r in reasons if r is not None])
            out[column] = parsed
        elif column in NUMERIC_RULES:
            values, problems = _check_numeric(column, stripped, required)
            for reason, mask in problems:
                report(column, mask, raw, reason)
            out[column] = values
        elif column == "release_date":
            missing = stripped.isin(text_missing).to_numpy()
            if derive_year and "year" not in staged.columns:
                years = stripped.map(year_from_date)
                unparsed = ~missing & years.isna().to_numpy()
                report(column, missing, raw, "missing release date (needed for the year)")
                report(column, unparsed, raw, "not a date like YYYY, YYYY-MM or YYYY-MM-DD")
                year_values = pd.to_numeric(years, errors="coerce").astype("float64")
                rule = NUMERIC_RULES["year"]
                out_of_range = year_values.notna().to_numpy() & ~rule.ok(year_values).to_numpy()
                report(column, out_of_range, raw, f"year {rule.describe()}")
                out["year"] = year_values
            out[column] = stripped.astype("string").where(~missing, pd.NA)
        elif column in TEXT_COLUMNS:
            missing = stripped.isin(text_missing).to_numpy()
            out[column] = stripped.astype("string").where(~missing, pd.NA)
        # any other column is ignored: loaders only stage what they map.

    frame = pd.DataFrame(out, index=staged.index)
    frame = frame.loc[~bad].reset_index(drop=True)
    issues = [issue for _, _, issue in sorted(found, key=lambda t: (t[0], t[1]))]
    fail_if_strict(issues, strict=strict, what=file)
    return frame, issues


def _check_numeric(
    column: str, stripped: pd.Series, required: Collection[str]
) -> tuple[pd.Series, list[tuple[str, np.ndarray]]]:
    rule = NUMERIC_RULES[column]
    missing = stripped.isin(NUMERIC_MISSING).to_numpy()
    values = pd.to_numeric(stripped.where(~missing, None), errors="coerce").astype("float64")
    isnum = values.notna().to_numpy()
    problems: list[tuple[str, np.ndarray]] = []
    if column in required:
        problems.append(("missing value", missing))
    problems.append(("not a number", ~missing & ~isnum))
    finite = np.isfinite(values.to_numpy())
    in_range = rule.ok(values).to_numpy() & finite
    problems.append((rule.describe(), isnum & ~in_range))
    if rule.integer:
        whole = (values.to_numpy() % 1 == 0) | ~isnum
        problems.append(("must be a whole number", isnum & in_range & ~whole))
    return values, problems


def _parse_artists(
    raw: pd.Series, parser: Callable[[str], list[str]] | None, text_missing: Collection[str]
) -> tuple[pd.Series, list[str | None]]:
    parse = parser or (lambda s: [s.strip()])
    parsed: list[list[str] | None] = []
    reasons: list[str | None] = []
    for value in raw.to_numpy():
        if value.strip() in text_missing:
            parsed.append(None)
            reasons.append("missing artist")
            continue
        if len(value) > MAX_ARTIST_TEXT:
            parsed.append(None)
            reasons.append("artist text too long")
            continue
        try:
            names = parse(value)
        except ValueError as exc:
            parsed.append(None)
            reasons.append(str(exc))
            continue
        if not names:
            parsed.append(None)
            reasons.append("no artist names")
        elif any(not name.strip() for name in names):
            parsed.append(None)
            reasons.append("empty artist name")
        else:
            parsed.append([name.strip() for name in names])
            reasons.append(None)
    return pd.Series(parsed, index=raw.index, dtype=object), reasons
