"""Everything the bot shows, rendered in one place so escaping and Discord's size limits are never forgotten.

Song names, artists, reasons and error texts come from a catalogue and from users: any of them may hold
`@everyone`, markdown or 10,000 characters. Every echoed string goes through `safe()`, and every message
is sent with `NO_MENTIONS`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import discord

from songrec.domain import (
    FeedbackResult,
    GuildSettings,
    HistoryItem,
    SessionInfo,
    SessionSummary,
    Suggestion,
    TrackInfo,
)

NO_MENTIONS = discord.AllowedMentions.none()
LIKE_EMOJI = "👍"
DISLIKE_EMOJI = "👎"
COLOUR = discord.Colour(0x1DB954)

# Discord's limits (characters).
CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
AUTHOR_LIMIT = 256
CHOICE_NAME_LIMIT = 100
ELLIPSIS = "…"


def escape(text: str) -> str:
    """Neutralise markdown and mentions; the escaped text reads the same to a human."""
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


#: Control characters (NUL, ESC, ...) and the bidi overrides that can flip the rest of a line; tabs and
#: newlines stay. Lone surrogates cannot be sent as UTF-8 at all.
_UNSHOWABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def showable(text: str) -> str:
    """`text` without characters that Discord rejects or that would garble the message around them."""
    return _UNSHOWABLE.sub("", text)


def safe(text: object, limit: int, *, oneline: bool = True) -> str:
    """Escape `text` and cut it to at most `limit` characters, never inside an escape sequence."""
    raw = showable(" ".join(str(text).split()) if oneline else str(text))
    escaped = escape(raw)
    if len(escaped) <= limit:
        return escaped
    keep = min(len(raw), limit - 1)
    while keep > 0:
        candidate = escape(raw[:keep].rstrip("\\")) + ELLIPSIS
        if len(candidate) <= limit:
            return candidate
        # Escaping roughly doubles at worst; shrink proportionally, then by one.
        keep = min(keep - 1, keep * limit // max(len(candidate), 1))
    return ELLIPSIS


def plain(text: str, limit: int) -> str:
    """Cut text that Discord shows verbatim (autocomplete choices, button labels): no markdown there."""
    text = showable(" ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def _when(track: TrackInfo) -> str:
    """ " (1999)", or " (1960s)" where only the decade is known (TrackInfo.year_label); "" else."""
    return f" ({track.year_label})" if track.year_label else ""


def track_line(track: TrackInfo, limit: int = 300) -> str:
    """`**Title** by Artist (1999)`, escaped and bounded."""
    year = _when(track)
    budget = max(limit - len(year) - 8, 20)
    name = safe(track.name, budget * 2 // 3)
    artists = safe(track.artist_line or "unknown artist", budget - len(name))
    return f"**{name}** by {artists}{year}"


def choice_label(track: TrackInfo) -> str:
    return plain(f"{track.name} — {track.artist_line}{_when(track)}", CHOICE_NAME_LIMIT)


def suggestion_embed(suggestion: Suggestion, *, session: bool = False) -> discord.Embed:
    """One suggestion per message, so a 👍 or 👎 on it maps to exactly one track."""
    track = suggestion.track
    embed = discord.Embed(
        title=safe(track.name, TITLE_LIMIT),
        url=track.spotify_url or None,
        description=safe(suggestion.reason or "A pick for you.", 1000),
        colour=COLOUR,
    )
    embed.add_field(
        name="Artists", value=safe(track.artist_line or "unknown", FIELD_VALUE_LIMIT), inline=True
    )
    if track.year_label:
        embed.add_field(name="Year" if track.year_exact else "Decade", value=track.year_label, inline=True)
    listen = (
        f"[Open in Spotify]({track.spotify_url})" if track.spotify_url else "From the server's own library"
    )
    embed.add_field(name="Listen", value=listen, inline=True)
    footer = "React 👍 or 👎, or use the buttons."
    if session:
        footer = "Group session: everyone's 👍/👎 steers what comes next."
    embed.set_footer(text=footer)
    return embed


ROWS_FOOTER = "Rate each song with the buttons of the same number below."


def numbered_suggestion_embed(suggestion: Suggestion, number: int, *, last: bool) -> discord.Embed:
    """One of several songs in one message: numbered like its row of buttons (a reaction on a message
    of several songs would not say which one), the footer only under the last."""
    embed = suggestion_embed(suggestion)
    prefix = f"{number}. "
    embed.title = prefix + safe(suggestion.track.name, TITLE_LIMIT - len(prefix))
    embed.remove_footer()
    if last:
        embed.set_footer(text=ROWS_FOOTER)
    return embed


def is_cold_start(suggestions: Sequence[Suggestion]) -> bool:
    """No taste behind these yet: every pick is a cold start's (or a surprise beside one)."""
    return any(s.kind == "cold_start" for s in suggestions) and all(
        s.kind in ("cold_start", "explore") for s in suggestions
    )


def recommend_header(
    user: discord.abc.User, seed: str | None, count: int, *, cold_start: bool = False
) -> str:
    who = user.mention
    noun = "suggestion" if count == 1 else "suggestions"
    if seed:
        return safe_content(f"🎵 {count} {noun} for {who} based on “{safe(seed, 200)}”:")
    if cold_start:
        return safe_content(
            f"🎵 {count} {noun} for {who} to start with: I don't know your taste yet, so rate these "
            "and I'll learn it."
        )
    return safe_content(f"🎵 {count} {noun} for {who} from your taste:")


def search_embed(query: str, tracks: Sequence[TrackInfo]) -> discord.Embed:
    """/search: the catalogue's songs for what was typed, numbered, each with its Spotify link."""
    embed = discord.Embed(title=safe(f"In the catalogue: {query}", TITLE_LIMIT), colour=COLOUR)
    if not tracks:
        embed.description = "Nothing in the catalogue matches that. Try fewer words, or an artist's name."
        return embed
    lines = [
        f"{n}. {track_line(t, 160)} · " + (f"[Spotify]({t.spotify_url})" if t.spotify_url else "library")
        for n, t in enumerate(tracks, 1)
    ]
    embed.description = _bounded(lines, DESCRIPTION_LIMIT - 40)
    embed.set_footer(text="Use one with /recommend song: (type to search) or /like.")
    return embed


def more_like_header(user: discord.abc.User, track: TrackInfo | None, count: int) -> str:
    what = track_line(track, 300) if track else "that"
    return safe_content(f"🔁 {count} more like {what} for {user.mention}:")


def session_next_header(info: SessionInfo, count: int) -> str:
    return safe_content(f"🎧 Next {count} for the group ({len(info.members)} listening, {info.strategy}):")


def safe_content(text: str) -> str:
    """Message content is already escaped by the caller; this only enforces Discord's length limit."""
    return text if len(text) <= CONTENT_LIMIT else text[: CONTENT_LIMIT - 1] + ELLIPSIS


def feedback_text(result: FeedbackResult) -> str:
    line = track_line(result.track)
    if result.value > 0:
        return f"👍 Noted: you like {line}." if result.changed else f"You had already liked {line}."
    if result.value < 0:
        return f"👎 Got it: less like {line}." if result.changed else f"You had already disliked {line}."
    return f"Removed your rating of {line}."


def history_embed(user: discord.abc.User, items: Sequence[HistoryItem]) -> discord.Embed:
    embed = discord.Embed(title="Your recent ratings", colour=COLOUR)
    if not items:
        embed.description = "Nothing yet: react 👍/👎 to suggestions or use /like and /dislike."
        return embed
    lines: list[str] = []
    used = 0
    for item in items:
        mark = LIKE_EMOJI if item.value > 0 else DISLIKE_EMOJI
        line = f"{mark} {track_line(item.track, 200)} · {safe(item.source, 20)}"
        if used + len(line) + 1 > DESCRIPTION_LIMIT - 40:
            lines.append(ELLIPSIS)
            break
        lines.append(line)
        used += len(line) + 1
    embed.description = "\n".join(lines)
    return embed


def session_started_text(info: SessionInfo, voice: discord.abc.GuildChannel | None) -> str:
    members = ", ".join(f"<@{m}>" for m in info.members[:40]) or "nobody yet"
    where = f" tied to 🔊 {safe(voice.name, 100)}" if voice else ""
    return safe_content(
        f"🎧 Group session started{where} (strategy: {info.strategy}). Listening: {members}.\n"
        "Join with `/session join`, then ask for music with `/session next`."
    )


def session_summary_embed(summary: SessionSummary) -> discord.Embed:
    embed = discord.Embed(title="Session summary", colour=COLOUR)
    suggested = summary.suggested
    embed.description = f"{len(suggested)} songs suggested to {len(summary.session.members)} listeners."
    if suggested:
        lines = [track_line(t, 150) for t in suggested[:10]]
        if len(suggested) > 10:
            lines.append(f"…and {len(suggested) - 10} more")
        embed.add_field(name="Suggested", value=_bounded_lines(lines), inline=False)
    if summary.liked:
        lines = []
        for track, members in summary.liked[:10]:
            who = ", ".join(f"<@{m}>" for m in members[:5])
            lines.append(f"{track_line(track, 120)} · liked by {who}")
        embed.add_field(name="The group liked", value=_bounded_lines(lines), inline=False)
    else:
        embed.add_field(name="The group liked", value="Nothing this time.", inline=False)
    return embed


def settings_embed(settings: GuildSettings) -> discord.Embed:
    channel = f"<#{settings.command_channel_id}>" if settings.command_channel_id else "any channel"
    embed = discord.Embed(title="songrec settings for this server", colour=COLOUR)
    embed.add_field(name="Commands allowed in", value=channel, inline=False)
    embed.add_field(name="Default explore rate", value=f"{settings.explore_rate:.2f}", inline=True)
    embed.add_field(name="Session strategy", value=settings.session_strategy, inline=True)
    mix = f"on, in <#{settings.mix_channel_id}>" if settings.mix_channel_id else "on, no channel yet"
    embed.add_field(name="Monthly mix", value=mix if settings.mix_enabled else "off", inline=True)
    dj = f"<@&{settings.dj_role_id}>" if settings.dj_role_id else "none: anyone runs sessions"
    embed.add_field(name="DJ role", value=dj, inline=True)
    return embed


def why_text(explanation: str) -> str:
    return safe_content("💡 " + safe(explanation, CONTENT_LIMIT - 10, oneline=False))


def error_text(message: str) -> str:
    """A SongrecError's text may quote the user's input or catalogue names: escape and bound it."""
    return safe_content("⚠️ " + safe(message, CONTENT_LIMIT - 10))


def _bounded(lines: Sequence[str], limit: int) -> str:
    out: list[str] = []
    used = 0
    for line in lines:
        if used + len(line) + 1 > limit - 2:
            out.append(ELLIPSIS)
            break
        out.append(line)
        used += len(line) + 1
    return "\n".join(out) or ELLIPSIS


def _bounded_lines(lines: Sequence[str]) -> str:
    return _bounded(lines, FIELD_VALUE_LIMIT)
