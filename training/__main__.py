"""`python -m training ...`: the training jobs, run by `songrec` as subprocesses."""

from __future__ import annotations

import sys

from songrec.ops.logs import setup_logging
from training.cli import main

if __name__ == "__main__":
    setup_logging()  # before main(): its logging.basicConfig then leaves our redacting handler alone
    sys.exit(main())
