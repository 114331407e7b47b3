"""`songrec chat`'s /session (group sessions) and /explore (a listener's own explore share).

A chat session lives in the host's chat "channel", so another terminal joins it by the host's name
(`/session join alice` from `songrec chat --user bob`): the same sessions the bot runs, on the same
database, blending every member's taste.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from songrec.domain import InvalidInput, SessionInfo, Suggestion

if TYPE_CHECKING:
    from songrec.cli.chat import Chat

SESSION_HELP = (
    "Try /session start [song], /session join NAME, /session next [count], /session, "
    "/session leave or /session end."
)
EXPLORE_HELP = "Give a share from 0% to 50%, e.g. /explore 30%, or /explore reset to follow the default."
RESET_WORDS = frozenset({"reset", "default", "off-mine", "none"})


def parse_share(text: str) -> float | None:
    """ "30%" or "30" -> 0.3; "0.3" -> 0.3 (a fraction); "reset" -> None. InvalidInput otherwise."""
    word = text.strip().lower()
    if word in RESET_WORDS:
        return None
    percent = word.endswith("%")
    number = word.removesuffix("%").strip()
    try:
        value = float(number)
    except ValueError:
        raise InvalidInput(EXPLORE_HELP) from None
    if value != value or value in (float("inf"), float("-inf")):  # NaN and infinities are not shares
        raise InvalidInput(EXPLORE_HELP)
    if not percent and "." in number and 0.0 <= value <= 1.0:
        return value
    return value / 100.0


async def explore(chat: Chat, rest: str) -> None:
    """/explore: show the share; /explore 30%: choose one; /explore reset: follow the default again."""
    service = chat.service
    if not rest.strip():
        chat.say((await service.explore_share(chat.user_id)).summary)
        return
    share = await service.set_explore_share(chat.user_id, parse_share(rest))
    chat.say(f"Saved: {share.summary}")


def channel_of(name: str) -> int:
    """The chat "channel" of `songrec chat --user NAME`: where their sessions live."""
    from songrec.cli.chat import CHANNEL_SALT, stable_id, user_id_for

    return stable_id(f"{CHANNEL_SALT}:{user_id_for(name)}")


def _members(info: SessionInfo, me: int) -> str:
    others = len([m for m in info.members if m != me])
    return "just you" if not others else f"you and {others} other{'s' if others > 1 else ''}"


async def session(chat: Chat, rest: str, server_id: int) -> None:
    """/session start|join|next|leave|end, or nothing for the one you are in."""
    action, _, arg = rest.strip().partition(" ")
    action, arg = action.lower(), arg.strip()
    service, uid = chat.service, chat.user_id
    where = chat.session_channel or chat.channel_id
    if action == "start":
        info = await service.start_session(server_id, chat.channel_id, uid, seeds=[arg] if arg else ())
        chat.session_channel = info.channel_id
        chat.say(
            f"Started a group session ({info.strategy.replace('_', ' ')}). Others join from their own "
            "`songrec chat` with /session join NAME (your --user name); /session next plays on."
        )
    elif action == "join":
        if not arg:
            chat.say("Whose session? /session join NAME (their `songrec chat --user` name).")
            return
        info = await service.join_session(channel_of(arg), uid)
        chat.session_channel = info.channel_id
        chat.say(f"Joined {arg}'s session: {_members(info, uid)}. /session next for songs for all of you.")
    elif action == "next":
        count = int(arg) if arg.isascii() and arg.isdigit() else 5
        picks = await service.session_next(where, uid, k=count)
        _show(chat, picks)
    elif action == "leave":
        info = await service.leave_session(where, uid)
        chat.session_channel = None
        chat.say(f"You left the session ({len(info.members)} still in it).")
    elif action == "end":
        summary = await service.end_session(where, uid)
        chat.session_channel = None
        liked = "; ".join(f"{t.name} — {t.artist_line} ({len(who)} 👍)" for t, who in summary.liked[:5])
        chat.say(
            f"Session over: {len(summary.suggested)} songs played."
            + (f" Most liked: {liked}" if liked else "")
        )
    elif not action:
        info = await service.active_session(where)
        if info is None:
            chat.say("You're not in a group session: /session start [song] starts one.")
        else:
            chat.say(f"Group session ({info.strategy.replace('_', ' ')}): {_members(info, uid)}.")
    else:
        chat.say(SESSION_HELP)


def _show(chat: Chat, picks: list[Suggestion]) -> None:
    if not picks:
        chat.say("Nothing new for the group right now.")
        return
    chat.shown, chat.choices = list(picks), []
    chat.say("For the group:")
    for n, s in enumerate(picks, 1):
        year = f" ({s.track.year_label})" if s.track.year_label else ""
        chat.say(f"{n:>2}. {s.track.name} — {s.track.artist_line}{year}")
        chat.say(f"    {s.reason}")
    chat.say("Rate one with /like N or /dislike N: it steers the next songs for everyone.")
