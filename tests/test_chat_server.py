"""`songrec chat`'s /charts and /mix: the terminal users' votes count as given in one chat "server"."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

from songrec.cli.chat import CHAT_SERVER, run_chat
from songrec.service.server_mix import month_name, month_span, previous_month
from tests.support.service_env import ServiceOpener


async def _chat(service: Any, lines: list[str], user: int) -> str:
    out = io.StringIO()
    assert await run_chat(service, user, io.StringIO("\n".join(lines) + "\n"), out) == 0
    assert "Traceback" not in out.getvalue()
    return out.getvalue()


async def test_charts_and_the_mix_in_the_terminal(open_service: ServiceOpener, tmp_path: Path) -> None:
    async with open_service(tmp_path / "db.sqlite3") as service:
        text = await _chat(service, ["/charts", "/mix", "/charts year", "/mix soon"], user=71)
        assert "Nobody here has liked a song this week yet" in text
        month = previous_month(time.time())
        assert f"Nobody here liked a song in {month_name(month)}" in text
        assert "Pick a period: week, month or all." in text and "YYYY-MM" in text

        store: Any = service._store  # last month's votes: the store stamps them with its clock
        store.db.clock = lambda: month_span(month)[0] + 3600
        for user in (71, 72):
            await _chat(service, ["/like Song 12", "/like Song 30"], user=user)
        store.db.clock = time.time
        await _chat(service, ["/like Song 12"], user=73)
        assert {v.user_id for v in await store.guild_feedback(CHAT_SERVER)} == {71, 72, 73}

        text = await _chat(service, ["/charts all", "/charts", "/mix", f"/mix {month}"], user=73)
        week, mix = text.split("Most liked here this week")[1], text.split("The sounds of songrec chat")[1]
        assert "Most liked here so far: 3 listeners, 5 likes" in text
        assert " 1. Song 12 — Artist 12  (3 👍)" in text.split("this week")[0]
        assert "1 listener, 1 like" in week
        assert f" - {month_name(month)}: 2 listeners, 4 likes" in mix
        assert " 1. Song 12 — Artist 12  (2 👍)" in mix and "suggested for the month's listeners" in mix
        assert text.count("The sounds of songrec chat") == 2, "the same mix, asked twice"
