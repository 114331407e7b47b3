"""/taste through the fake Discord: a PNG card arrives as an attachment (image/png, Discord's preview
size), only for the one who asked unless shared; no likes is answered in words; an opted-out member's
card is refused politely."""

from __future__ import annotations

import pytest

from tests.support.bot_harness import bounded, world
from tests.support.discord_server import EPHEMERAL, User


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", "not a PNG"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@bounded(20)
async def test_taste_posts_a_png_card(monkeypatch: pytest.MonkeyPatch) -> None:
    async with world(monkeypatch) as w:
        ix = await w.fake.slash(w.alice, "taste")
        (reply,) = await w.fake.wait_reply(ix)
        assert reply["flags"] & EPHEMERAL and "haven't liked anything" in reply["content"]
        assert reply["attachments"] == []

        for song in ("Take Five", "Bad Guy", "Thunder Road"):
            await w.service.like(w.alice, song)
        ix = await w.fake.slash(w.alice, "taste")
        (reply,) = await w.fake.wait_reply(ix)
        assert reply["flags"] & EPHEMERAL and "3 likes" in reply["content"]
        (attachment,) = reply["attachments"]
        assert attachment["content_type"] == "image/png" and attachment["filename"] == "taste.png"
        data = w.fake.files[int(attachment["id"])]
        assert attachment["size"] == len(data) and 0 < len(data) < 8 * 1024 * 1024
        assert png_size(data) == (1200, 675)

        ix = await w.fake.slash(w.bob, "taste", member=User(w.alice), share=True)  # bob looks, for all
        (reply,) = await w.fake.wait_reply(ix)
        assert not reply["flags"] & EPHEMERAL and reply["attachments"][0]["content_type"] == "image/png"
        assert w.service.calls_to("taste_card")[-1] == {
            "user_id": w.alice,
            "viewer_id": w.bob,
            "name": "alice",
        }


@bounded(20)
async def test_an_opted_out_members_card_is_refused_politely(monkeypatch: pytest.MonkeyPatch) -> None:
    async with world(monkeypatch) as w:
        await w.service.like(w.alice, "Take Five")
        await w.service.set_privacy(w.alice, "private")
        ix = await w.fake.slash(w.bob, "taste", member=User(w.alice))
        (reply,) = await w.fake.wait_reply(ix)
        assert reply["flags"] & EPHEMERAL and "keeps their taste to themselves" in reply["content"]
        assert reply["attachments"] == []
        ix = await w.fake.slash(w.alice, "taste")  # her own card: always
        (reply,) = await w.fake.wait_reply(ix)
        assert reply["attachments"][0]["content_type"] == "image/png"
