"""`python -m songrec.cli`: the same as the `songrec` command."""

import sys

from songrec.cli.main import main

sys.exit(main())
