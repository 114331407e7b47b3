"""songrec's recommendation service: the one way in for the bot, `songrec chat` and the CLI.

`Service` (and its config) are imported lazily, so front ends that only need the records and errors
(`songrec.domain`) or the Protocol (`songrec.service.api`) do not pay for pandas and hnswlib.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from songrec.service.config import ServiceConfig
    from songrec.service.core import Service
    from songrec.service.scoring import CandidateScorer

__all__ = ["CandidateScorer", "Service", "ServiceConfig"]

_LAZY = {
    "Service": "songrec.service.core",
    "ServiceConfig": "songrec.service.config",
    "CandidateScorer": "songrec.service.scoring",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
