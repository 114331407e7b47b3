"""`songrec chat`: the bot's commands in a terminal, against the same Service and database.

    /recommend [song] [count]   /artist NAME   /search TEXT   /like [song|number]   /dislike [song|number]
    /why [number] [details]
    /import URL   /export [count]   /history   /charts [period]   /mix [YYYY-MM]
    /session [start|join NAME|next|leave|end]   /explore [0-50%|reset]   /forget-me   /help   /quit
    (a line without a slash recommends from that song)

Every failure is answered in a sentence; the loop never ends on an error, only on /quit or end of input.
"""

from __future__ import annotations

import asyncio
import getpass
import hashlib
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from songrec.cli import chat_group
from songrec.domain import AmbiguousTrack, InvalidInput, SongrecError, Suggestion, TrackInfo, TrackNotFound
from songrec.service.api import SongService

log = logging.getLogger(__name__)

#: Suggestions typed in the terminal are recorded as if posted in this one "channel" per user.
CHANNEL_SALT = "songrec-chat-channel"
CHAT_SERVER_NAME = "songrec chat"
DEFAULT_COUNT = 5
HELP = """Commands:
  /recommend [song] [count]  songs like one you name, or from your taste (count 1-50, default 5);
                             after a list of matching songs, /recommend N picks song N of it;
                             a path to an audio file (songrec audio) recommends songs that sound like it
  /like [song]               like a song; without one, the last suggestion; a number picks from the list
  /dislike [song]            the same, for songs you don't want
  /artist NAME [count]       songs like an artist's (their own songs left out)
  /search TEXT               look for songs by title or artist; /recommend N or /like N picks one
  /why [number] [details]    why a suggestion was picked (default: the last one); details: the score
  /import URL                a Spotify playlist's (or album's) songs as seeds, and suggestions from them
  /export [count]            save your recent suggestions (default 20) as a Spotify playlist
  /history                   your recent likes and dislikes
  /privacy [out|off|in|export|forget-me]  what is stored about you and what for; opt out of helping
                             others (out) or of all learning (off), opt back in (in), your data as JSON
  /taste [file.png]          your taste card, written as a PNG (default taste.png), and in words
  /compat NAME               how alike your taste is to another chat user's (as in --user NAME)
  /neighbours                the listeners whose taste is closest to yours
  /charts [week|month|all]   the songs and artists chat users liked most (default: this week)
  /mix [YYYY-MM]             the monthly mix of what chat users liked (default: last month)
  /session [start [song]|join NAME|next [count]|leave|end]  a group session: songs for everyone in it
  /explore [0-50%|reset]     how many of your suggestions from your taste explore (default 20%)
  /forget-me                 delete everything songrec knows about you (asks first)
  /help                      this list
  /quit                      leave (Ctrl-D works too)
A line without a slash recommends songs like the one you typed, e.g.  ring of fire - johnny cash"""


def _number(text: str) -> bool:
    """ASCII digits only: "①".isdigit() is True, but int("①") raises."""
    return text.isascii() and text.isdigit()


def _when(track: TrackInfo) -> str:
    """ " (1965)", or " (1960s)" where only the decade is known; "" when neither is."""
    return f" ({track.year_label})" if track.year_label else ""


def taste_header(suggestions: Sequence[Suggestion]) -> str:
    """The heading of suggestions asked for without a seed: from the taste, or a cold start's."""
    if suggestions and all(s.kind in ("cold_start", "explore") for s in suggestions):
        return "To start with (I don't know your taste yet: /like N or /dislike N teaches me):"
    return "From your taste:"


def stable_id(text: str) -> int:
    """A positive 62-bit id from a name: the same name gives the same id on every machine."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") >> 2 or 1


#: Every terminal user's votes count as given in one "server", so /charts and /mix have one to be about.
CHAT_SERVER = stable_id("songrec-chat-server")


def user_id_for(name_or_id: str | None) -> int:
    """--user 1234 is that id; --user alice is a stable id for "alice"; nothing: the OS user name."""
    text = (name_or_id or "").strip() or getpass.getuser()
    if _number(text) and 0 < int(text) < 2**63:
        return int(text)
    return stable_id(f"songrec-chat-user:{text}")


@dataclass
class Chat:
    """One terminal conversation: reads lines, calls the service, writes answers."""

    service: SongService
    user_id: int
    out: IO[str]
    confirm: Callable[[str], Awaitable[str]]
    channel_id: int = 0
    shown: list[Suggestion] = field(default_factory=list)
    #: The songs an ambiguous or unknown name offered; while on screen, a number picks one of them.
    choices: list[TrackInfo] = field(default_factory=list)
    #: The channel of the group session this chat is in (its own, or the host's it joined).
    session_channel: int | None = None

    def __post_init__(self) -> None:
        if not self.channel_id:
            self.channel_id = stable_id(f"{CHANNEL_SALT}:{self.user_id}")

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    async def handle(self, line: str) -> bool:
        """Answer one line; False when the user wants to leave."""
        text = line.strip()
        if not text:
            return True
        if not text.startswith("/"):
            text = "/recommend " + text
        command, _, rest = text[1:].partition(" ")
        command, rest = command.lower(), rest.strip()
        handlers: dict[str, Callable[[str], Awaitable[bool | None]]] = {
            "recommend": self.recommend,
            "r": self.recommend,
            "like": lambda r: self.rate(r, 1),
            "dislike": lambda r: self.rate(r, -1),
            "why": self.why,
            "artist": self.artist,
            "search": self.search,
            "import": self.import_playlist,
            "export": self.export_playlist,
            "history": self.history,
            "forget-me": self.forget_me,
            "privacy": self.privacy,
            "taste": self.taste,
            "compat": self.compat,
            "neighbours": self.neighbours,
            "charts": self.charts,
            "mix": self.mix,
            "session": lambda r: chat_group.session(self, r, CHAT_SERVER),
            "explore": lambda r: chat_group.explore(self, r),
            "help": self.help,
            "quit": self.quit,
            "exit": self.quit,
        }
        handler = handlers.get(command)
        if handler is None:
            self.say(f"I don't know /{command[:30]}; /help lists what I can do.")
            return True
        try:
            return (await handler(rest)) is not False
        except (AmbiguousTrack, TrackNotFound) as error:
            if not self._offer(error):
                self.say(f"Sorry: {error}")
        except SongrecError as error:
            self.say(f"Sorry: {error}")
            if getattr(error, "operator_hint", ""):  # a terminal's user runs songrec: tell them the fix
                self.say(f"(for whoever runs songrec: {error.operator_hint})")  # type: ignore[attr-defined]
        except Exception as error:  # never a traceback in the user's face
            log.debug("chat command failed", exc_info=True)
            self.say(f"Something went wrong ({type(error).__name__}); please try again.")
        return True

    def _offer(self, error: AmbiguousTrack | TrackNotFound) -> bool:
        """A numbered list of the songs the name could mean (or the closest ones); False if none."""
        options = error.candidates if isinstance(error, AmbiguousTrack) else error.closest
        if not options:
            return False
        if isinstance(error, AmbiguousTrack):
            self.say(f"Several songs match “{error.query[:80]}”:")
        else:  # the error's own sentence, without its inline list: the numbered one follows
            self.say(f"Sorry: {str(error).split(' Closest matches:')[0]} The closest songs:")
        self._list_choices(options)
        return True

    def _list_choices(self, options: Sequence[TrackInfo]) -> None:
        """Number songs on screen: while they are, /recommend N, /like N and /dislike N pick from them."""
        self.choices = list(options)
        for n, track in enumerate(self.choices, 1):
            self.say(f"{n:>2}. {track.name} — {track.artist_line}{_when(track)}")
        self.say("Pick one with /recommend N, /like N or /dislike N (N from this list).")

    def _choice(self, rest: str) -> TrackInfo | None:
        """The song a number picks from the choices on screen; a number outside the list is refused."""
        if not self.choices or not _number(rest):
            return None
        if 1 <= int(rest) <= len(self.choices):
            return self.choices[int(rest) - 1]
        raise InvalidInput(f"Give a number from the list on screen (1-{len(self.choices)}).")

    async def recommend(self, rest: str) -> None:
        choice = self._choice(rest)
        if choice is not None:
            await self._recommend(choice.track_id, DEFAULT_COUNT, f"{choice.name} by {choice.artist_line}")
            return
        song, count = rest, DEFAULT_COUNT
        words = rest.split()
        if words and _number(words[-1]) and 1 <= int(words[-1]) <= 50:
            count, song = int(words[-1]), " ".join(words[:-1])
        elif words and _number(words[-1].lstrip("-")) and len(words) == 1:
            count, song = int(words[-1]), ""  # "/recommend 0" or "/recommend 99": let the service explain
        await self._recommend(song, count, song)

    async def _recommend(self, song: str, count: int, label: str, artist: str | None = None) -> None:
        seeds = [song] if song else None
        suggestions = await self.service.recommend(
            self.user_id, seeds, k=count, channel_id=self.channel_id, artist=artist
        )
        if not suggestions:
            self.say("Nothing new to suggest right now; try another song.")
            return
        self.shown, self.choices = list(suggestions), []
        self.say(f"Songs like {label}:" if song or artist else taste_header(suggestions))
        for n, s in enumerate(suggestions, 1):
            self.say(
                f"{n:>2}. {s.track.name} — {s.track.artist_line}{_when(s.track)}  [{s.kind.replace('_', ' ')}]"
            )
            self.say(f"    {s.reason}")
        self.say("Rate one with /like N or /dislike N (N from this list), or ask /why N.")

    def _picked(self, rest: str) -> Suggestion | None:
        if _number(rest) and 1 <= int(rest) <= len(self.shown):
            return self.shown[int(rest) - 1]
        return None

    async def rate(self, rest: str, value: int) -> None:
        method = self.service.like if value > 0 else self.service.dislike
        choice = self._choice(rest)
        picked = None if choice is not None else self._picked(rest)
        if not rest and self.choices:  # a list of songs is on screen: the last suggestion is not
            raise InvalidInput(f"Give a number from the list on screen (1-{len(self.choices)}), or a song.")
        if choice is None and picked is None and _number(rest):  # a number is never taken for a title
            if self.shown:
                raise InvalidInput(f"Give a number from the last list (1-{len(self.shown)}).")
            word = "like" if value > 0 else "dislike"
            raise InvalidInput(
                f"There is no list on screen to pick number {rest} from. To {word} a song whose title is "
                f"a number, add its artist, as in /{word} 99 - Toto."
            )
        if choice is not None:
            result = await method(
                self.user_id, choice.track_id, source="chat", channel_id=self.channel_id, guild_id=CHAT_SERVER
            )
        elif picked is not None:
            result = await method(
                self.user_id,
                suggestion_id=picked.id,
                source="chat",
                channel_id=self.channel_id,
                guild_id=CHAT_SERVER,
            )
        else:
            result = await method(
                self.user_id, rest or None, source="chat", channel_id=self.channel_id, guild_id=CHAT_SERVER
            )
        line = f"{result.track.name} by {result.track.artist_line}"
        if value > 0:
            self.say(f"👍 Noted: you like {line}." if result.changed else f"You had already liked {line}.")
        else:
            self.say(
                f"👎 Got it: less like {line}." if result.changed else f"You had already disliked {line}."
            )

    async def why(self, rest: str) -> None:
        words = rest.split()
        details = bool(words) and words[-1].lower() in ("details", "detail", "-d")
        number = " ".join(words[:-1] if details else words)
        picked = self._picked(number)
        if number and picked is None:
            self.say(
                f"Give a number from the last list (1-{len(self.shown)}), or nothing for the last one; "
                "add `details` for the score."
            )
            return
        sid = picked.id if picked is not None else None
        self.say(await self.service.why(self.user_id, sid, self.channel_id, details=details))

    async def artist(self, rest: str) -> None:
        """/artist NAME [count]: songs like an artist's, none of theirs."""
        words = rest.split()
        count = DEFAULT_COUNT
        if len(words) > 1 and _number(words[-1]) and 1 <= int(words[-1]) <= 50:
            count, words = int(words[-1]), words[:-1]
        name = " ".join(words)
        if not name:
            self.say("Name an artist: /artist Daft Punk (and a count, e.g. /artist Daft Punk 10).")
            return
        await self._recommend("", count, name, artist=name)

    async def search(self, rest: str) -> None:
        """/search TEXT: the catalogue's songs for a title or an artist, numbered to pick from."""
        if not rest.strip():
            self.say("Tell me what to look for: /search ring of fire, or /search johnny cash.")
            return
        found = await self.service.search(rest, limit=10)
        if not found:
            self.say(f"Nothing in the catalogue matches “{rest[:80]}”.")
            return
        self.say(f"In the catalogue for “{rest[:80]}”:")
        self._list_choices(found)

    async def import_playlist(self, rest: str) -> None:
        if not rest:
            self.say(
                "Give me a Spotify playlist or album link: /import https://open.spotify.com/playlist/..."
            )
            return
        imported = await self.service.import_playlist(self.user_id, rest)
        self.say(imported.note)
        await self.recommend(imported.url)

    async def export_playlist(self, rest: str) -> None:
        if rest and not _number(rest):
            self.say("Give a number of recent suggestions to export, e.g. /export 10, or nothing for 20.")
            return
        export = await self.service.export_playlist(self.user_id, count=int(rest) if rest else None)
        self.say(f"Created “{export.name}” with {len(export.tracks)} songs: {export.url}")

    async def history(self, rest: str) -> None:
        items = await self.service.history(self.user_id, limit=20)
        if not items:
            self.say("No likes or dislikes yet.")
            return
        for item in items:
            mark = "👍" if item.value > 0 else "👎"
            self.say(
                f"{mark} {item.track.name} — {item.track.artist_line}  ({item.source}, {item.created_at})"
            )

    async def forget_me(self, rest: str) -> None:
        answer = await self.confirm(
            "Delete all your likes, dislikes and history? This can't be undone. [y/N] "
        )
        if answer.strip().lower() not in ("y", "yes"):
            self.say("Cancelled: nothing was deleted.")
            return
        removed = await self.service.forget_user(self.user_id)
        self.shown, self.choices = [], []
        self.say(f"Done: I deleted {removed} records and forgot everything about you.")

    async def taste(self, rest: str) -> None:
        card = await self.service.taste_card(self.user_id)
        self.say(card.summary)
        if card.png is not None:
            target = Path(rest.strip() or "taste.png").expanduser()
            target.write_bytes(card.png)
            self.say(f"Your taste card: {target} ({card.width}x{card.height} PNG)")

    async def compat(self, rest: str) -> None:
        if not rest.strip():
            self.say("Name someone: /compat NAME (their `songrec chat --user` name or id).")
            return
        match = await self.service.compat(self.user_id, user_id_for(rest.strip()))
        self.say(match.summary)
        for title, tracks in (("You both like", match.both_like), ("You'd both like", match.suggestions)):
            if tracks:
                self.say(f"{title}: " + "; ".join(f"{t.name} — {t.artist_line}" for t in tracks))

    async def neighbours(self, rest: str) -> None:
        found = await self.service.neighbours(self.user_id)
        if not found:
            self.say("Nobody is close to your taste yet: rate a few more songs.")
        for uid, r in found:
            self.say(f"  listener {uid}: agreement {r:+.2f}")

    async def charts(self, rest: str) -> None:
        charts = await self.service.charts(CHAT_SERVER, rest.strip().lower() or "week")
        self.say(charts.summary)
        for n, (track, likes) in enumerate(charts.songs, 1):
            self.say(f"{n:>2}. {track.name} — {track.artist_line}  ({likes} 👍)")
        if charts.artists:
            self.say("Artists: " + "; ".join(f"{a} ({likes} 👍)" for a, likes in charts.artists))

    async def mix(self, rest: str) -> None:
        mix = await self.service.monthly_mix(CHAT_SERVER, month=rest.strip() or None, name=CHAT_SERVER_NAME)
        if not mix.tracks:
            self.say(mix.summary)
            return
        self.say(f"{mix.title}: {mix.summary}")
        for n, song in enumerate(mix.tracks, 1):
            mark = f"{song.likes} 👍" if song.likes else "suggested for the month's listeners"
            self.say(f"{n:>2}. {song.track.name} — {song.track.artist_line}  ({mark})")

    async def privacy(self, rest: str) -> None:
        """/privacy: show; out (help nobody else), off (learn nothing), in; export; forget-me."""
        action = rest.strip().lower()
        if action == "forget-me":
            await self.forget_me("")
            return
        if action == "export":
            self.say(json.dumps(await self.service.export_user(self.user_id), indent=2, default=str))
            return
        choices = {"out": "private", "off": "off", "in": "shared"}
        if action and action not in choices:
            self.say(
                "Try /privacy, /privacy out, /privacy off, /privacy in, /privacy export or /privacy forget-me."
            )
            return
        service = self.service
        report = (
            await service.set_privacy(self.user_id, choices[action])
            if action
            else await service.privacy(self.user_id)
        )
        s = report.stored
        self.say(
            f"Stored: {s.get('likes', 0)} likes, {s.get('dislikes', 0)} dislikes, "
            f"{s.get('suggestions', 0)} suggestions, {s.get('sessions', 0)} sessions. "
            f"Your choice: {report.choice}."
        )
        for use in report.uses:
            self.say(f"  - {use}")

    async def help(self, rest: str) -> None:
        self.say(HELP)

    async def quit(self, rest: str) -> bool:
        self.say("Bye!")
        return False


async def run_chat(
    service: SongService, user_id: int, stdin: IO[str], stdout: IO[str], *, channel_id: int = 0
) -> int:
    """Talk until /quit or end of input. Lines are read in a thread so the service keeps working."""
    interactive = stdin.isatty()

    async def read(prompt: str) -> str | None:
        if interactive:
            stdout.write(prompt)
            stdout.flush()
        line = await asyncio.to_thread(stdin.readline)
        return line if line else None

    async def confirm(question: str) -> str:
        stdout.write(question + ("" if interactive else "\n"))
        stdout.flush()
        return (await read("")) or ""

    chat = Chat(service, user_id, stdout, confirm, channel_id)
    chat.say("songrec chat: /help lists commands, /quit leaves. Type a song to get suggestions like it.")
    while True:
        line = await read("you> ")
        if line is None:
            return 0
        if not await chat.handle(line):
            return 0


async def _open_and_chat(user: str | None, stdin: IO[str], stdout: IO[str], spotify: Any = None) -> int:
    from songrec import settings as paths
    from songrec.coordination import open_coordination
    from songrec.service import Service

    stdout.write("Loading songrec (the model and the catalogue)...\n")
    stdout.flush()
    # The same shared state as the bots (SONGREC_REDIS_URL): a session's "next" never runs twice.
    coordination = await open_coordination()
    try:
        service = await Service.open(
            db_path=paths.database_location(),
            artifacts=paths.artifacts_dir(),
            spotify=spotify,
            coordination=coordination,
        )
        try:
            return await run_chat(service, user_id_for(user), stdin, stdout)
        finally:
            await service.close()
    finally:
        await coordination.close()


def _spotify_from_env() -> Any:
    """A Spotify client when SPOTIFY_CLIENT_ID/SECRET are set; None otherwise (Spotify is optional)."""
    from songrec.spotify import SpotifyClient, SpotifyConfig

    cfg = SpotifyConfig.from_env()
    return SpotifyClient(cfg) if cfg.configured else None


def main(user: str | None = None, stdin: IO[str] | None = None, stdout: IO[str] | None = None) -> int:
    """Entry point for `songrec chat [--user NAME]`; returns an exit code, never raises a traceback."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    spotify = _spotify_from_env()
    try:
        return asyncio.run(_open_and_chat(user, stdin, stdout, spotify))
    except SongrecError as error:
        stdout.write(f"songrec chat: {error}\n")
        return 4 if "songrec train" in str(error) else 1
    except KeyboardInterrupt:
        stdout.write("\nBye!\n")
        return 0
    finally:
        if spotify is not None:
            spotify.close()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else None))
