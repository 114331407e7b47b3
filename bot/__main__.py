"""`python -m bot` runs the bot the way `songrec serve` does; `python -m bot sync [--guild ID]` syncs commands.

Serving needs the real service and the learning loop, which the composition root (songrec.cli.serve) wires
together; this module only hands over to it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.app import sync_commands
from songrec.domain import BotConfigError


def sync_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot sync", description="register slash commands")
    parser.add_argument("--guild", type=int, help="sync to one guild (instant; for development)")
    args = parser.parse_args(argv)
    try:
        names = asyncio.run(sync_commands(args.guild))
    except BotConfigError as error:
        print(f"songrec bot: {error}", file=sys.stderr)
        return 2
    where = f"guild {args.guild}" if args.guild else "all servers (may take up to an hour to show)"
    print(f"synced {len(names)} commands to {where}: {', '.join(names)}")
    return 0


def run(argv: list[str]) -> int:
    if argv and argv[0] == "sync":
        return sync_main(argv[1:])
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    from songrec.cli.serve import main as serve_main

    return serve_main(argv)


if __name__ == "__main__":
    raise SystemExit(run(sys.argv[1:]))
