"""Opening a database, from the contract's side: a fresh one is usable at once, reopening keeps the data
and the schema, concurrent openers agree, and a read-only store reads but refuses writes.
(The SQLite migration runner itself is tested in test_sqlite_migrations.py.)"""

from __future__ import annotations

import asyncio

import pytest

from songrec.domain import StoreError
from tests.store.backends import BackendFactory

USER = 111111111111111111


async def test_reopening_keeps_data_and_schema(store_backend: BackendFactory) -> None:
    async with await store_backend.open() as store:
        version = await store.schema_version()
        assert version >= 2  # the service's vocabulary is in the schema (0002)
        await store.add_feedback(USER, "track1", 1, "cli")
    for _ in range(2):
        async with await store_backend.open() as store:
            assert await store.schema_version() == version
            assert [(r.track_id, r.source) for r in await store.all_feedback()] == [("track1", "cli")]
            assert await store.integrity_check() == []


async def test_openers_at_once_agree_on_the_schema(store_backend: BackendFactory) -> None:
    stores = await asyncio.gather(*(store_backend.open() for _ in range(4)))
    try:
        versions = {await store.schema_version() for store in stores}
        await asyncio.gather(
            *(store.add_feedback(USER, f"t{i}", 1, "command") for i, store in enumerate(stores))
        )
    finally:
        for store in stores:
            await store.close()
    assert len(versions) == 1
    async with await store_backend.open() as store:
        assert len(await store.all_feedback()) == 4


async def test_readonly_store_reads_and_refuses_writes(store_backend: BackendFactory) -> None:
    async with await store_backend.open() as store:
        await store.add_feedback(USER, "t1", 1, "button")
    async with await store_backend.open(readonly=True) as store:
        assert store.readonly
        assert len(await store.all_feedback()) == 1
        with pytest.raises(StoreError, match="read-only"):
            await store.add_feedback(USER, "t2", 1, "button")
