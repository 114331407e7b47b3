"""Every catalogue row's TrackInfo, from columns saved at training time rather than built at start.

A tuple of 70,000 TrackInfo records took seconds to build and ~50 MiB to hold; the columns load
memory-mapped in milliseconds and a record is made when one is asked for (a few per answer).
An artifact that predates the saved columns builds them from its catalogue (the old cost, once).

Years: `year_exact` says which years a source states. The Hit Predictor files give only a decade, and the
catalogue stores its middle (1965), so those rows are shown as "1960s" (TrackInfo.year_label); a year no
source gives at all (not even the decade: `decade_imputed`) is no year (None). An artifact saved before
the flag existed reads it from its catalogue's `year_imputed` column; where that is missing too, no year
is claimed exact: every year shows as its decade (true for every row, where a year would be a guess).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, overload

import numpy as np

from songrec.content.packed import ListColumn, StringColumn, mapped
from songrec.domain import TrackInfo

if TYPE_CHECKING:
    import pandas as pd

TRACKS_DIR = "tracks"  # inside the artifact's serving/ folder
_NUMBERS = "numbers.npy"  # float64 (rows, 2): year, popularity (NaN when unknown)
_HAS_GENRE = "has_genre.npy"  # bool (rows,): the genre is a string (else TrackInfo.genre is None)
_YEAR_EXACT = "year_exact.npy"  # bool (rows,): a source states the year (else only its decade is known)
_FLAGS = ("year_imputed", "decade_imputed")  # the catalogue's columns the two come from


@dataclass(frozen=True, eq=False)
class TrackTable(Sequence[TrackInfo]):
    """Read-only rows of the catalogue as TrackInfo, made on access from packed columns."""

    ids: StringColumn
    names: StringColumn
    artists: ListColumn
    genres: StringColumn
    has_genre: np.ndarray  # bool
    numbers: np.ndarray  # float64 (rows, 2): year, popularity
    year_exact: np.ndarray  # bool (rows,)
    _row_of_id: dict[str, int] | None = field(default=None, repr=False)

    @classmethod
    def from_catalog(cls, catalog: pd.DataFrame) -> TrackTable:
        """From the catalogue (artists as lists or arrays), as catalogue_tracks read it."""
        years = catalog["year"].to_numpy(dtype=np.float64, na_value=np.nan)
        pops = catalog["popularity"].to_numpy(dtype=np.float64, na_value=np.nan)
        genres = (
            catalog["genre"].to_numpy(dtype=object, na_value=None)
            if "genre" in catalog
            else np.full(len(catalog), None, dtype=object)
        )
        has_genre = np.fromiter((isinstance(g, str) for g in genres), bool, len(genres))
        year_exact, no_decade = _year_flags({c: catalog[c] for c in _FLAGS if c in catalog}, len(catalog))
        years = np.where(no_decade, np.nan, years)
        return cls(
            ids=StringColumn.pack(str(t) for t in catalog["track_id"]),
            names=StringColumn.pack(str(n) for n in catalog["name"]),
            artists=ListColumn.pack([] if a is None else list(a) for a in catalog["artists"]),
            genres=StringColumn.pack(g if isinstance(g, str) else "" for g in genres),
            has_genre=has_genre,
            numbers=np.column_stack([years, pops]).astype(np.float64),
            year_exact=year_exact,
        )

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.ids.save(directory, "ids")
        self.names.save(directory, "names")
        self.artists.save(directory, "artists")
        self.genres.save(directory, "genres")
        np.save(directory / _HAS_GENRE, np.asarray(self.has_genre, dtype=bool))
        np.save(directory / _NUMBERS, np.asarray(self.numbers, dtype=np.float64))
        np.save(directory / _YEAR_EXACT, np.asarray(self.year_exact, dtype=bool))

    @classmethod
    def load(cls, directory: Path, rows: int, catalogue: Path | None = None) -> TrackTable | None:
        """The saved table, memory-mapped; None when the artifact predates it or it does not fit.

        Saved before `year_exact` existed: the flags come from `catalogue` (the artifact's parquet), or,
        without it, no year is taken as exact (see the module docstring)."""
        if not (directory / _NUMBERS).is_file() or not (directory / _HAS_GENRE).is_file():
            return None
        ids, names, genres = (StringColumn.load(directory, n) for n in ("ids", "names", "genres"))
        artists = ListColumn.load(directory, "artists")
        if ids is None or names is None or genres is None or artists is None:
            return None
        numbers = mapped(directory / _NUMBERS)
        has_genre = mapped(directory / _HAS_GENRE)
        if {len(ids), len(names), len(genres), len(artists), len(has_genre), len(numbers)} != {rows}:
            return None
        if numbers.shape[1:] != (2,):
            return None
        if (directory / _YEAR_EXACT).is_file():
            year_exact = mapped(directory / _YEAR_EXACT)
            if len(year_exact) != rows:
                return None
        else:
            year_exact, no_decade = _year_flags(_catalogue_flags(catalogue), rows)
            if no_decade.any():
                numbers = np.array(numbers)
                numbers[no_decade, 0] = np.nan
        return cls(
            ids=ids,
            names=names,
            artists=artists,
            genres=genres,
            has_genre=has_genre,
            numbers=numbers,
            year_exact=year_exact,
        )

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, row: int) -> TrackInfo: ...
    @overload
    def __getitem__(self, row: slice) -> list[TrackInfo]: ...
    def __getitem__(self, row: int | slice) -> TrackInfo | list[TrackInfo]:
        if isinstance(row, slice):
            return [self[i] for i in range(*row.indices(len(self)))]
        row = int(row)
        if row < 0:
            row += len(self)
        if not 0 <= row < len(self):
            raise IndexError(row)
        year, pop = (float(x) for x in self.numbers[row])
        return TrackInfo(
            track_id=self.ids[row],
            name=self.names[row],
            artists=self.artists.row(row),
            year=int(year) if np.isfinite(year) else None,
            popularity=pop if np.isfinite(pop) else None,
            genre=self.genres[row] if self.has_genre[row] else None,
            year_exact=bool(self.year_exact[row]),
        )

    def __iter__(self) -> Iterator[TrackInfo]:
        return (self[i] for i in range(len(self)))

    @property
    def popularity(self) -> np.ndarray:
        """Popularity per row, NaN when unknown."""
        return np.asarray(self.numbers[:, 1])

    @property
    def year(self) -> np.ndarray:
        """Year per row, NaN when unknown."""
        return np.asarray(self.numbers[:, 0])

    def genre_labels(self) -> np.ndarray:
        """Object array of genres, "" when unknown (what the planner's strata use)."""
        return np.asarray(self.genres.to_list(), dtype=object)

    def first_artists(self) -> list[str]:
        """Each row's first credited artist as written, "" when none."""
        return self.artists.firsts()

    def row_of_id(self) -> dict[str, int]:
        """Track id -> row, built once on first use (the later row wins, as a dict comprehension does)."""
        if self._row_of_id is None:
            object.__setattr__(self, "_row_of_id", {t: i for i, t in enumerate(self.ids.to_list())})
        return self._row_of_id  # type: ignore[return-value]


def _year_flags(columns: dict[str, object], rows: int) -> tuple[np.ndarray, np.ndarray]:
    """(a source states the year, not even the decade is known) per row, from the catalogue's flags;
    without `year_imputed` no year is taken as exact."""
    imputed = columns.get("year_imputed")
    unknown = columns.get("decade_imputed")
    exact = np.zeros(rows, bool) if imputed is None else ~np.asarray(imputed, dtype=bool)
    no_decade = np.zeros(rows, bool) if unknown is None else np.asarray(unknown, dtype=bool)
    if len(exact) != rows or len(no_decade) != rows:
        return np.zeros(rows, bool), np.zeros(rows, bool)
    return exact & ~no_decade, no_decade


def _catalogue_flags(path: Path | None) -> dict[str, object]:
    """The year flag columns of an artifact's catalogue parquet (only those: milliseconds), if any."""
    if path is None or not path.is_file():
        return {}
    import pyarrow.parquet as pq

    try:
        present = [c for c in _FLAGS if c in pq.read_schema(path).names]
        table = pq.read_table(path, columns=present) if present else None
    except (OSError, ValueError):
        return {}
    if table is None:
        return {}
    return {c: table.column(c).to_numpy(zero_copy_only=False) for c in present}
