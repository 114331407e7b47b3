"""The operator's own audio: decode, mel spectrograms, tags, a spectrogram CNN and its embeddings.

Optional (`pip install -e '.[audio]'`: soundfile, mutagen). Nothing outside `songrec audio ...` and the
audio seed path imports this package, so the default install never needs those libraries.
"""

from __future__ import annotations

import importlib.util

#: Third-party modules the audio part needs beyond the default install.
REQUIRED_MODULES = ("soundfile", "mutagen")
ENABLE_HINT = "the audio commands need the audio extra: pip install -e '.[audio]'"


def missing_modules() -> list[str]:
    """The audio extra's modules that are not installed (empty when the extra is)."""
    return [name for name in REQUIRED_MODULES if importlib.util.find_spec(name) is None]
