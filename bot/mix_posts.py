"""Posting a server's monthly mix: the message, its Spotify export button, and the rules for posting once.

The service decides what the mix is and who may post it (``monthly_mix`` claims the (server, month) in
the store; only the claimant gets ``fresh``). This module only posts a fresh mix to the server's chosen
channel, then tells the service where it went (``mix_posted``), or that posting failed
(``release_mix``), so the next try may post it. The first-of-the-month job and ``/mix now`` both call
``post_mix``; a server this process does not serve (another shard range) is left to its own process.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord

from bot import embeds, replies
from bot.checks import ensure_dj
from bot.dedup import first_delivery
from songrec.domain import GuildSettings, PlaylistExport, ServerMix

if TYPE_CHECKING:
    from bot.app import SongrecBot

log = logging.getLogger("songrec.bot")

LIKED_MARK = "❤️"
SUGGESTED_MARK = "✨"
FOOTER = f"{SUGGESTED_MARK} suggested for this month's listeners · Export with the button or /mix export"
MIX_OFF = (
    "The monthly mix is off in this server: someone with Manage Server turns it on with "
    "`/settings mix:True mix_channel:#channel`."
)
#: What the DJ role gates here (bot/checks.py), for /mix export and the button alike.
EXPORT_ACTION = "export the server's mix"
NO_CHANNEL = "The monthly mix has no channel to go to yet: choose one with `/settings mix_channel:#channel`."


def jump_url(guild_id: int, channel_id: int, message_id: int) -> str:
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"


def headline(mix: ServerMix) -> str:
    """The plain line above the list: "The sounds of <server> - November 2026: 32 listeners, 412 likes; ..."."""
    return embeds.safe_content(f"🎶 **{embeds.safe(mix.title, 200)}**: {embeds.safe(mix.summary, 1500)}")


def mix_embed(mix: ServerMix) -> discord.Embed:
    lines = []
    for number, song in enumerate(mix.tracks, 1):
        mark = f"{LIKED_MARK} {song.likes}" if song.likes else SUGGESTED_MARK
        lines.append(f"{number}. {embeds.track_line(song.track, 120)} · {mark}")
    description, used = [], 0
    for line in lines:
        if used + len(line) + 1 > embeds.DESCRIPTION_LIMIT - 10:
            description.append(embeds.ELLIPSIS)
            break
        description.append(line)
        used += len(line) + 1
    embed = discord.Embed(
        title=embeds.safe(mix.title, embeds.TITLE_LIMIT),
        description="\n".join(description),
        colour=embeds.COLOUR,
    )
    embed.set_footer(text=FOOTER)
    return embed


def export_text(export: PlaylistExport) -> str:
    count = len(export.tracks)
    return f"🎶 “{embeds.safe(export.name, 150)}” ({count} song{'s' if count != 1 else ''}) is on Spotify: {export.url}"


class MixExportButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"songrec:mixexport:(?P<guild>\d{1,20}):(?P<month>\d{4}-\d{2})",
):
    """Under a posted mix: export it to Spotify (persistent: works after a restart, by guild and month)."""

    def __init__(self, guild_id: int, month: str) -> None:
        self.guild_id = guild_id
        self.month = month
        super().__init__(
            discord.ui.Button(
                label="Export to Spotify",
                emoji="🎧",
                style=discord.ButtonStyle.secondary,
                custom_id=f"songrec:mixexport:{guild_id}:{month}",
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> MixExportButton:
        return cls(int(match["guild"]), match["month"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        if not await first_delivery(interaction.client.coordination, interaction):
            return
        try:
            await ensure_dj(interaction, EXPORT_ACTION)
            await replies.defer(interaction, ephemeral=True)
            service = replies.service_of(interaction)
            export = await service.export_mix(interaction.user.id, self.guild_id, self.month)
            await replies.reply(interaction, export_text(export))
        except Exception as error:
            await replies.report_error(interaction, error)


def mix_view(mix: ServerMix) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(MixExportButton(mix.guild_id, mix.month))
    return view


@dataclass(frozen=True)
class MixOutcome:
    """What became of one server's mix: the mix (None when it was never asked for), the message posted
    now (None when nothing was), and what to tell an admin, in words."""

    guild_id: int
    mix: ServerMix | None
    message: discord.Message | None
    note: str


async def _channel(bot: SongrecBot, channel_id: int) -> Any:
    channel = bot.get_channel(channel_id)
    return channel if channel is not None else await bot.fetch_channel(channel_id)


async def post_mix(bot: SongrecBot, settings: GuildSettings, month: str | None = None) -> MixOutcome:
    """Claim the server's mix of `month` (default: the last month) and post it, once."""
    gid = settings.guild_id
    if not settings.mix_enabled:
        return MixOutcome(gid, None, None, MIX_OFF)
    if settings.mix_channel_id is None:
        return MixOutcome(gid, None, None, NO_CHANNEL)
    guild = bot.get_guild(gid)
    mix = await bot.service.monthly_mix(gid, month=month, name=guild.name if guild else None)
    if not mix.tracks:
        return MixOutcome(gid, mix, None, mix.summary)
    if not mix.fresh:
        if mix.message_id is not None and mix.channel_id is not None:
            where = jump_url(gid, mix.channel_id, mix.message_id)
            return MixOutcome(gid, mix, None, f"This mix was already posted: {where}")
        return MixOutcome(gid, mix, None, "This mix is being posted right now; it will appear shortly.")
    channel_id = mix.channel_id or settings.mix_channel_id
    try:
        channel = await _channel(bot, channel_id)
        message = await channel.send(
            content=headline(mix),
            embed=mix_embed(mix),
            view=mix_view(mix),
            allowed_mentions=embeds.NO_MENTIONS,
        )
    except (discord.HTTPException, AttributeError) as error:  # gone, forbidden, or not a text channel
        log.warning("could not post the mix of %s to channel %s: %s", gid, channel_id, error)
        await bot.service.release_mix(gid, mix.month)
        return MixOutcome(
            gid,
            mix,
            None,
            f"I couldn't post the mix in <#{channel_id}>: check that I may send messages there.",
        )
    await bot.service.mix_posted(gid, mix.month, message.channel.id, message.id)
    log.info("posted the %s mix of guild %s as message %s", mix.month, gid, message.id)
    return MixOutcome(gid, mix, message, f"Posted in <#{message.channel.id}>: {message.jump_url}")


async def post_monthly_mixes(bot: SongrecBot, month: str | None = None) -> list[MixOutcome]:
    """The first-of-the-month job: every server this process serves that turned the mix on, once each."""
    outcomes = []
    for settings in await bot.service.mix_guilds():
        if bot.get_guild(settings.guild_id) is None:
            continue  # not one of this process's servers (another shard range serves it)
        try:
            outcomes.append(await post_mix(bot, settings, month))
        except Exception:  # one server's failure must not cost the others their mix
            log.exception("monthly mix for guild %s failed", settings.guild_id)
    return outcomes
