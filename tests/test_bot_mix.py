"""/charts and the server's monthly mix through the fake Discord: the charts answer, /mix now posts a
month once (a second /mix now shows it again), the export button, and the first-of-the-month job run
twice across a restart (a new bot and service over the same SQLite file) posts one mix per month."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.app import BotConfig
from bot.mix_posts import MIX_OFF
from bot.mix_schedule import MixSchedule
from songrec.service.server_mix import month_name, month_span, previous_month
from tests.support.bot_harness import TOKEN, all_text, bounded, custom_ids, running_bot, world
from tests.support.discord_server import ADMIN_PERMISSIONS, EPHEMERAL, Channel, FakeDiscord
from tests.support.service_double import ServiceDouble
from tests.support.service_env import ServiceOpener


def channel_posts(fake: FakeDiscord, channel_id: int) -> list[dict[str, Any]]:
    """Messages the bot sent to a channel itself (not as an interaction's reply)."""
    return [m for m in fake.messages.values() if m["channel_id"] == str(channel_id) and "webhook_id" not in m]


@bounded(30)
async def test_charts_show_the_servers_most_liked_songs(monkeypatch: pytest.MonkeyPatch) -> None:
    async with world(monkeypatch) as w:
        ix = await w.fake.slash(w.alice, "charts")
        (reply,) = await w.fake.wait_reply(ix)
        assert "Nobody here has liked a song this week" in all_text(reply)
        first, second = list(w.service.tracks.values())[:2]
        for user in (w.alice, w.bob):
            await w.service.like(user, first.track_id, guild_id=w.fake.guild_id)
        await w.service.like(w.carol, second.track_id, guild_id=w.fake.guild_id)
        await w.service.like(w.carol, second.track_id)  # a DM vote: not this server's

        ix = await w.fake.slash(w.alice, "charts", period="all")
        (reply,) = await w.fake.wait_reply(ix)
        assert not reply["flags"] & EPHEMERAL, "the charts are the server's, for everyone to see"
        (embed,) = reply["embeds"]
        assert embed["title"] == "Top of Test Server: all time"
        assert "3 listeners, 3 likes" in embed["description"]
        songs = {f["name"]: f["value"] for f in embed["fields"]}["Songs"].splitlines()
        assert first.name in songs[0] and songs[0].endswith("❤️ 2") and second.name in songs[1]
        assert w.service.calls_to("charts")[-1]["period"] == "all"


@bounded(40)
async def test_mix_now_posts_a_month_once_and_shows_it_again(monkeypatch: pytest.MonkeyPatch) -> None:
    async with world(monkeypatch) as w:
        fake, guild = w.fake, w.fake.guild_id
        ix = await fake.slash(w.alice, "mix", "now")
        (reply,) = await fake.wait_reply(ix)
        assert reply["flags"] & EPHEMERAL and "Manage Server" in reply["content"]
        ix = await fake.slash(w.bob, "mix", "now", permissions=ADMIN_PERMISSIONS)
        assert (await fake.wait_reply(ix))[0]["content"] == MIX_OFF

        ix = await fake.slash(
            w.bob,
            "settings",
            permissions=ADMIN_PERMISSIONS,
            mix=True,
            mix_channel=Channel(fake.other_channel_id),
        )
        (reply,) = await fake.wait_reply(ix)
        fields = {f["name"]: f["value"] for f in reply["embeds"][0]["fields"]}
        assert fields["Monthly mix"] == f"on, in <#{fake.other_channel_id}>"

        month = previous_month(time.time())
        ix = await fake.slash(w.bob, "mix", "now", permissions=ADMIN_PERMISSIONS)
        assert f"Nobody here liked a song in {month_name(month)}" in (await fake.wait_reply(ix))[0]["content"]
        assert channel_posts(fake, fake.other_channel_id) == []

        tracks = list(w.service.tracks.values())
        w.service.mix.clock = lambda: month_span(month)[0] + 3600
        for n, user in enumerate((w.alice, w.bob, w.carol)):
            await w.service.like(user, tracks[0].track_id, guild_id=guild)
            await w.service.like(user, tracks[5 + n].track_id, guild_id=guild)
        w.service.mix.clock = time.time

        ix = await fake.slash(w.bob, "mix", "now", permissions=ADMIN_PERMISSIONS)
        (reply,) = await fake.wait_reply(ix)
        (post,) = await fake.wait_for(lambda: channel_posts(fake, fake.other_channel_id))
        assert reply["flags"] & EPHEMERAL and post["id"] in reply["content"]
        title = f"The sounds of Test Server - {month_name(month)}"
        assert post["content"].startswith(f"🎶 **{title}**: 3 listeners, 6 likes; the month's top artist")
        assert post["embeds"][0]["title"] == title and tracks[0].name in post["embeds"][0]["description"]
        export_id = f"songrec:mixexport:{guild}:{month}"
        assert custom_ids(post) == [export_id]
        assert w.service.mix.posts == [(guild, month, fake.other_channel_id, int(post["id"]))]

        ix = await fake.slash(w.alice, "mix", "now", permissions=ADMIN_PERMISSIONS)  # another admin, later
        (again,) = await fake.wait_reply(ix)
        assert "already posted" in again["content"] and post["id"] in again["content"]
        assert again["embeds"][0]["title"] == title, "the posted mix, shown again"
        assert len(channel_posts(fake, fake.other_channel_id)) == 1, "never posted twice"

        click = await fake.click(w.carol, int(post["id"]), export_id)
        (reply,) = await fake.wait_reply(click)
        assert reply["flags"] & EPHEMERAL and "spotify-login" in reply["content"]
        w.service.spotify_configured = True
        links = []
        for user in (w.carol, w.alice):
            (reply,) = await fake.wait_reply(await fake.click(user, int(post["id"]), export_id))
            links.append(reply["content"].rsplit(" ", 1)[-1])
        assert links[0] == links[1] and links[0].startswith("https://open.spotify.com/playlist/")
        assert len(w.service.exports) == 1, "the second export hands out the first playlist"
        ix = await fake.slash(w.alice, "mix", "export")
        assert links[0] in (await fake.wait_reply(ix))[0]["content"]


@bounded(90)
async def test_the_monthly_job_posts_once_per_month_across_a_restart(
    open_service: ServiceOpener, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    db = tmp_path / "songrec.sqlite3"
    month = previous_month(time.time())
    async with FakeDiscord() as fake:
        fake.patch(monkeypatch)
        users = [fake.add_user(name) for name in ("alice", "bob", "carol")]
        for attempt in range(2):  # the second bot and service: a restart over the same database
            async with open_service(db) as service, running_bot(fake, service) as bot:
                if attempt == 0:
                    await service.update_guild_settings(
                        fake.guild_id, mix_enabled=True, mix_channel_id=fake.channel_id
                    )
                    store: Any = service._store  # votes stamped last month: the store's clock
                    store.db.clock = lambda: month_span(month)[0] + 7200
                    tracks = [t.track_id for t in await service.autocomplete("Song 1", limit=6)]
                    for n, user in enumerate(users):
                        await service.like(user, tracks[0], guild_id=fake.guild_id)
                        await service.like(user, tracks[1 + n], guild_id=fake.guild_id)
                    store.db.clock = time.time
                outcomes = await MixSchedule(bot).run()
                (outcome,) = outcomes
                assert (outcome.message is not None) == (attempt == 0), outcome.note
        (post,) = channel_posts(fake, fake.channel_id)
        assert post["content"].startswith(
            f"🎶 **The sounds of Test Server - {month_name(month)}**: 3 listeners"
        )
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT guild_id, month, message_id FROM server_mixes").fetchall()
    assert rows == [(fake.guild_id, month, int(post["id"]))]


@bounded(20)
async def test_a_real_bot_schedules_the_mix_for_the_first_of_the_month(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with FakeDiscord() as fake:
        fake.patch(monkeypatch)
        async with running_bot(fake, ServiceDouble()) as bot:  # the harness: no schedule, tests run the job
            cog: Any = bot.get_cog("MixCog")  # an extension's module is loaded afresh: no isinstance
            assert cog.schedule.next_run() is None
        async with running_bot(fake, ServiceDouble(), config=BotConfig(token=TOKEN, monthly_mix=True)) as bot:
            cog = bot.get_cog("MixCog")
            when = cog.schedule.next_run()
            assert when is not None and (when.day, when.hour, when.minute) == (1, 0, 5)
            assert when.astimezone(UTC) > datetime.now(UTC)
        assert cog.schedule.next_run() is None, "stopped with the bot"
