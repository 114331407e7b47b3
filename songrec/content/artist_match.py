"""Which artist someone meant: the rules TitleIndex uses to narrow a title to an artist and to tell two
credits of one act ("Dave Brubeck", "The Dave Brubeck Quartet") from two different artists.

Pure functions of normalised names (songrec.content.songkey.normalise), so they are cheap and testable.
"""

from __future__ import annotations

from collections.abc import Sequence

from rapidfuzz import fuzz

#: token_set_ratio at which an artist typed matches a track's credit ("beethoven" ~ "ludwig van beethoven").
ARTIST_MATCH = 85
#: Words that do not tell one act from another.
FILLER = frozenset({"the", "and", "his", "her", "their", "orchestra", "band", "quartet", "trio", "quintet"})


def artist_matches(typed: str, credit: str) -> bool:
    """The normalised artist typed fits the normalised credit (every typed word, typos aside)."""
    return fuzz.token_set_ratio(typed, credit) >= ARTIST_MATCH


def names_exactly(typed: str, credit: str, names: Sequence[str]) -> bool:
    """The artist typed is the whole credit or one of its artists, word for word (all normalised)."""
    return typed == credit or typed in names


def same_act(a: str, b: str) -> bool:
    """Two normalised credits of one act: one's words (less fillers such as "the", "quartet") contain
    the other's. "dave brubeck" and "the dave brubeck quartet" are; "adele" and "lionel richie" are not."""
    words_a, words_b = set(a.split()) - FILLER, set(b.split()) - FILLER
    if not words_a or not words_b:
        return a == b
    return words_a <= words_b or words_b <= words_a
