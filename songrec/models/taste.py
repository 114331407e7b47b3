"""Artist taste signal for the like/dislike classifier, computed with integer codes and bincounts.

Per (user, artist) and per artist: a smoothed like-rate and a log count, from training rows only.
Training rows get out-of-fold values (their own label never feeds their own feature); prediction uses
the statistics of the whole training set. A user given as "" gets the population's values, which is
what strangers get at prediction time. No per-row Python: a million votes take about a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

N_ARTIST_FEATURES = 4  # user-level like-rate, log count, population like-rate, log count
USER_PRIOR_PSEUDO = 5.0  # a user's like-rate is shrunk towards the population's with this pseudo-count


def _rates(
    up: np.ndarray,
    un: np.ndarray,
    gp: np.ndarray,
    gn: np.ndarray,
    user_prior: np.ndarray,
    global_prior: np.ndarray | float,
    stranger: np.ndarray,
    smoothing: float,
) -> np.ndarray:
    """The four features from counts; strangers ("" users) get the population's values twice."""
    g_rate = (gp + smoothing * global_prior) / (gn + smoothing)
    u_rate = (up + smoothing * user_prior) / (un + smoothing)
    u_rate = np.where(stranger, g_rate, u_rate)
    un = np.where(stranger, gn, un)
    return np.column_stack([u_rate, np.log1p(un), g_rate, np.log1p(gn)]).astype(np.float32)


def _sums(codes: np.ndarray, y: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    return np.bincount(codes, weights=y, minlength=size), np.bincount(codes, minlength=size).astype(float)


@dataclass
class ArtistStats:
    """Like sums and counts per (user, artist) pair, per artist and per user, keyed by string indexes."""

    users: pd.Index
    artists: pd.Index
    pair_codes: np.ndarray  # sorted user_code * len(artists) + artist_code
    pair_counts: np.ndarray  # (pairs, 2): likes, votes
    artist_counts: np.ndarray  # (artists, 2)
    user_prior: np.ndarray  # (users,) shrunk like-rate
    global_prior: float = 0.5

    @classmethod
    def build(cls, users: Sequence[str], artists: Sequence[str], y: np.ndarray) -> ArtistStats:
        y = np.asarray(y, dtype=np.float64)
        u_codes, u_index = pd.factorize(np.asarray(users, dtype=object))
        a_codes, a_index = pd.factorize(np.asarray(artists, dtype=object))
        global_prior = float(y.mean()) if len(y) else 0.5
        pairs, inverse = np.unique(u_codes.astype(np.int64) * len(a_index) + a_codes, return_inverse=True)
        pp, pn = _sums(inverse, y, len(pairs))
        ap, an = _sums(a_codes, y, len(a_index))
        up, un = _sums(u_codes, y, len(u_index))
        prior = (up + USER_PRIOR_PSEUDO * global_prior) / (un + USER_PRIOR_PSEUDO)
        return cls(
            pd.Index(u_index), pd.Index(a_index), pairs, np.column_stack([pp, pn]),
            np.column_stack([ap, an]), prior, global_prior,
        )  # fmt: skip

    def features(self, users: Sequence[str], artists: Sequence[str], smoothing: float) -> np.ndarray:
        """Features for new rows; users given as "" (or unknown to the stats) get population values."""
        users_arr = np.asarray(users, dtype=object)
        u = self.users.get_indexer(users_arr)
        a = self.artists.get_indexer(np.asarray(artists, dtype=object))
        zeros = np.zeros(len(u))
        gp, gn = (np.where(a >= 0, self.artist_counts[np.maximum(a, 0), i], 0.0) for i in (0, 1))
        up, un = zeros, zeros
        if len(self.pair_codes):
            code = u.astype(np.int64) * len(self.artists) + a
            pos = np.minimum(np.searchsorted(self.pair_codes, code), len(self.pair_codes) - 1)
            hit = (u >= 0) & (a >= 0) & (self.pair_codes[pos] == code)
            up, un = (np.where(hit, self.pair_counts[pos, i], 0.0) for i in (0, 1))
        prior = np.where(u >= 0, self.user_prior[np.maximum(u, 0)], self.global_prior)
        return _rates(up, un, gp, gn, prior, self.global_prior, users_arr == "", smoothing)

    def to_state(self) -> dict[str, object]:
        return {
            "users": [str(u) for u in self.users],
            "artists": [str(a) for a in self.artists],
            "pair_codes": self.pair_codes,
            "pair_counts": self.pair_counts,
            "artist_counts": self.artist_counts,
            "user_prior": self.user_prior,
            "global_prior": self.global_prior,
        }

    @classmethod
    def from_state(cls, state: dict) -> ArtistStats:  # type: ignore[type-arg]
        if "keys" in state:  # saved by the first version: dicts, population rows under user ""
            return cls._from_dicts(state)
        return cls(
            pd.Index(state["users"], dtype=object),
            pd.Index(state["artists"], dtype=object),
            np.asarray(state["pair_codes"], dtype=np.int64),
            np.asarray(state["pair_counts"], dtype=np.float64).reshape(-1, 2),
            np.asarray(state["artist_counts"], dtype=np.float64).reshape(-1, 2),
            np.asarray(state["user_prior"], dtype=np.float64),
            float(state["global_prior"]),
        )

    @classmethod
    def _from_dicts(cls, state: dict) -> ArtistStats:  # type: ignore[type-arg]
        table = {(str(k[0]), str(k[1])): v for k, v in zip(state["keys"], state["counts"], strict=True)}
        priors = dict(state["user_prior"])
        users = pd.Index(sorted({u for u, _ in table if u} | set(priors)), dtype=object)
        artists = pd.Index(sorted({a for _, a in table}), dtype=object)
        art = np.zeros((len(artists), 2))
        pairs: dict[int, tuple[float, float]] = {}
        for (u, a), v in table.items():
            if u == "":
                art[artists.get_loc(a)] = v
            else:
                pairs[users.get_loc(u) * len(artists) + artists.get_loc(a)] = v
        codes = np.asarray(sorted(pairs), dtype=np.int64)
        counts = np.asarray([pairs[c] for c in codes], dtype=np.float64).reshape(-1, 2)
        gp = float(state["global_prior"])
        prior = np.asarray([priors.get(u, gp) for u in users], dtype=np.float64)
        return cls(users, artists, codes, counts, art, prior, gp)


def oof_artist_features(
    users: Sequence[str],
    artists: Sequence[str],
    labels: np.ndarray,
    smoothing: float = 1.0,
    folds: int = 5,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Artist taste features for training rows from the other folds only: no row sees its own label.

    Every count is "all rows minus the row's own fold". Users given as "" get population-level
    values. Public so benchmarks can hand the same signal to baselines.
    """
    rng = rng or np.random.default_rng(0)
    n = len(users)
    k = max(2, min(folds, n))
    fold = rng.permutation(np.arange(n) % k)
    y = np.asarray(labels, dtype=np.float64)
    u_codes, u_index = pd.factorize(np.asarray(users, dtype=object))
    a_codes, a_index = pd.factorize(np.asarray(artists, dtype=object))

    def oof(codes: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
        tp, tn = _sums(codes, y, size)
        fp, fn = _sums(fold * size + codes, y, size * k)
        own = fold * size + codes
        return tp[codes] - fp[own], tn[codes] - fn[own]

    fp, fn = _sums(fold, y, k)
    rest = n - fn[fold]
    global_prior = np.where(rest > 0, (y.sum() - fp[fold]) / np.maximum(rest, 1), 0.5)
    _, pair = np.unique(u_codes.astype(np.int64) * len(a_index) + a_codes, return_inverse=True)
    up, un = oof(pair.reshape(-1), int(pair.max()) + 1 if n else 0)
    gp, gn = oof(a_codes, len(a_index))
    usr_p, usr_n = oof(u_codes, len(u_index))
    prior = (usr_p + USER_PRIOR_PSEUDO * global_prior) / (usr_n + USER_PRIOR_PSEUDO)
    stranger = np.asarray(users, dtype=object) == ""
    return _rates(up, un, gp, gn, prior, global_prior, stranger, smoothing)


def artist_features(
    train_users: Sequence[str],
    train_artists: Sequence[str],
    train_labels: np.ndarray,
    users: Sequence[str],
    artists: Sequence[str],
    smoothing: float = 1.0,
) -> np.ndarray:
    """Artist taste features for new rows from all training rows (what predict uses)."""
    stats = ArtistStats.build(train_users, train_artists, train_labels)
    return stats.features(users, artists, smoothing)
