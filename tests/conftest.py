"""Point SONGREC_DATA at the shared datasets (../shared/data from the repo root) when they exist,
and keep every test's caches, artifacts and databases out of the user's real SONGREC_HOME."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_SHARED_DATA = (Path(__file__).resolve().parent.parent.parent / "shared" / "data").resolve()
if _SHARED_DATA.is_dir() and "SONGREC_DATA" not in os.environ:
    os.environ["SONGREC_DATA"] = str(_SHARED_DATA)

# Hermetic: a test run never reads or writes ~/.songrec (the CI machine's or a developer's).
os.environ["SONGREC_HOME"] = tempfile.mkdtemp(prefix="songrec-test-home-")
os.environ.pop("DISCORD_TOKEN", None)
