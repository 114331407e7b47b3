"""Size, integrity and schema version, against every backend."""

from __future__ import annotations

from songrec.domain import NewSuggestion
from songrec.store import StoreBackend

ALICE = 666666666666666601
BOB = 666666666666666602
GUILD, CHANNEL, VOICE = 777777777777777701, 777777777777777702, 777777777777777703


async def test_maintenance(store: StoreBackend) -> None:
    size = await store.database_size()
    await store.record_suggestions(
        [NewSuggestion(f"t{i}", i, "m", "explore", reason="x" * 200, user_id=ALICE) for i in range(500)]
    )
    assert await store.database_size() > size > 0
    assert await store.integrity_check() == []
    assert await store.schema_version() >= 1
