"""When two track names are the same song for a listener: the one same-song key, and the text it compares.

Spotify and the catalogue keep one id per release (single, album, remaster, "feat." credits), so both the
catalogue de-duplication and the Spotify look-ups compare `title_key`s rather than ids. Pure text, no I/O.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np

#: Release decoration that does not make a different song: "(feat. X)", "- 2011 Remaster", "(Live)",
#: '- From "8 Mile" Soundtrack'.
DECORATION = re.compile(
    r"\s*[\(\[][^)\]]*(feat\.?|ft\.|with|remaster|version|edit|mix|live|mono|stereo|soundtrack)[^)\]]*[\)\]]"
    r"|\s+-\s+.*(remaster|version|edit|live|mono|stereo|mix|soundtrack).*$",
    re.IGNORECASE,
)
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)


def normalise(text: str) -> str:
    """Case-, accent- and punctuation-insensitive form used for matching."""
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(_NON_WORD.sub(" ", text.casefold()).split())


def base_title(name: str) -> str:
    """The name without release decoration, as written: "Dreams - 2004 Remaster" -> "Dreams"."""
    return " ".join(DECORATION.sub("", str(name)).split())


def title_key(name: str, artists: object) -> str:
    """Two rows with the same key are the same song for listeners (remasters, re-releases)."""
    first = artists[0] if isinstance(artists, list | tuple | np.ndarray) and len(artists) else str(artists)
    return f"{normalise(DECORATION.sub('', str(name)))}|{normalise(str(first))}"
