"""`songrec taste --user ID --out card.png`: the /taste card, written to a file."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import IO

from songrec.cli.playlists import open_service
from songrec.service.api import SongService


async def write_card(service: SongService, user: str | None, out_path: Path, out: IO[str]) -> int:
    """Write the user's card as PNG; with no likes say so in words and write nothing (exit 1)."""
    from songrec.cli.chat import user_id_for

    card = await service.taste_card(user_id_for(user), name=user)
    if card.png is None:
        out.write(card.summary + "\n")
        return 1
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_bytes(card.png)
    out.write(f"{card.summary}\nwrote {out_path} ({card.width}x{card.height})\n")
    return 0


def run(user: str | None, out_path: Path, out: IO[str]) -> int:
    async def main() -> int:
        async with open_service() as service:
            return await write_card(service, user, out_path, out)

    return asyncio.run(main())
