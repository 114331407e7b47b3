"""A fake Discord on 127.0.0.1: the gateway websocket and the REST routes songrec's bot uses.

It speaks Discord's wire format (JSON over text frames; REST replies with Content-Type
`application/json`), keeps a small world (one guild, text and voice channels, users, messages,
reactions), enforces the rules that catch real bugs (the 3-second interaction deadline, acknowledging
twice, Discord's size limits, the first follow-up after a "thinking" defer replacing the placeholder)
and records every REST request so tests can assert on what the bot sent.

Compression: discord.py asks for `compress=zlib-stream` (or zstd) in the gateway URL but decodes text
frames as plain JSON, so the fake simply never compresses.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import mimetypes
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from aiohttp import WSMsgType, web

from .discord_ratelimits import CHANNEL_MESSAGES, BucketRule, RateLimiter, Verdict

API_PREFIX = "/api/v10"
EPHEMERAL = 1 << 6
LOADING = 1 << 7

# Permission bits (https://discord.com/developers/docs/topics/permissions).
ADD_REACTIONS = 1 << 6
MANAGE_GUILD = 1 << 5
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
READ_MESSAGE_HISTORY = 1 << 16
CONNECT = 1 << 20
USE_APPLICATION_COMMANDS = 1 << 31
MEMBER_PERMISSIONS = (
    ADD_REACTIONS | VIEW_CHANNEL | SEND_MESSAGES | READ_MESSAGE_HISTORY | CONNECT | USE_APPLICATION_COMMANDS
)
ADMIN_PERMISSIONS = MEMBER_PERMISSIONS | MANAGE_GUILD
BOT_PERMISSIONS = MEMBER_PERMISSIONS | (1 << 14) | (1 << 15)  # embed links, attach files

# Interaction types and callback types.
PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE = 1, 2, 3, 4
CB_MESSAGE, CB_DEFERRED_MESSAGE, CB_DEFERRED_UPDATE, CB_UPDATE_MESSAGE, CB_AUTOCOMPLETE = 4, 5, 6, 7, 8


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True)
class Channel:
    """Marks a slash-command option value as a channel (option type 7)."""

    id: int


@dataclass(frozen=True)
class Role:
    """Marks a slash-command option value as a role of the guild (option type 8)."""

    id: int


@dataclass(frozen=True)
class User:
    """Marks a slash-command option value as a user, a member of the guild (option type 6)."""

    id: int


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    at: float
    status: int = 0


@dataclass
class FakeInteraction:
    id: int
    token: str
    type: int
    user_id: int
    channel_id: int
    guild_id: int | None
    payload: dict[str, Any]
    sent_at: float
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    callback_at: float | None = None
    loading: bool = False
    original_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    choices: list[dict[str, Any]] | None = None
    edits: int = 0  # edits of the original / component message
    errors: list[str] = field(default_factory=list)

    @property
    def acknowledged(self) -> bool:
        return bool(self.callbacks)

    @property
    def callback_type(self) -> int | None:
        return self.callbacks[0]["type"] if self.callbacks else None


class FakeDiscord:
    """Start with `async with FakeDiscord() as fake:`; point discord.py at it with `fake.patch(monkeypatch)`."""

    app_id = 111111111111111111
    guild_id = 222222222222222222
    channel_id = 333333333333333331
    other_channel_id = 333333333333333332
    voice_channel_id = 333333333333333339

    def __init__(
        self, *, deadline_s: float = 3.0, echo_own_reactions: bool = True, rate_limits: bool = False
    ) -> None:
        """`rate_limits`: enforce Discord's per-channel and per-interaction buckets (discord_ratelimits)."""
        self.deadline_s = deadline_s
        self.echo_own_reactions = echo_own_reactions
        self.limiter: RateLimiter | None = RateLimiter() if rate_limits else None
        self.bot_user = self._user_payload(self.app_id, "songrec", bot=True)
        self.users: dict[int, dict[str, Any]] = {}
        self.channels: dict[int, dict[str, Any]] = {
            self.channel_id: self._channel(self.channel_id, "music", 0, 0),
            self.other_channel_id: self._channel(self.other_channel_id, "general", 0, 1),
            self.voice_channel_id: self._channel(self.voice_channel_id, "Listening Room", 2, 2),
        }
        self.voice_states: dict[int, int] = {}  # user -> voice channel
        self.roles: dict[int, dict[str, Any]] = {}  # the guild's roles besides @everyone (add_role)
        self.member_roles: dict[int, list[int]] = {}  # user -> the role ids they hold (give_role)
        self.messages: dict[int, dict[str, Any]] = {}
        self.allowed_mentions: dict[int, Any] = {}  # message id -> allowed_mentions the bot sent
        self.reactions: dict[int, dict[str, list[int]]] = {}
        self.interactions: dict[int, FakeInteraction] = {}
        self._by_token: dict[str, FakeInteraction] = {}
        self.requests: list[Recorded] = []
        self.unhandled: list[Recorded] = []
        self.violations: list[str] = []
        self.global_commands: list[dict[str, Any]] = []
        self.guild_commands: dict[int, list[dict[str, Any]]] = {}
        self.identifies: list[dict[str, Any]] = []
        self.resumes: list[dict[str, Any]] = []  # RESUME payloads (session_id, seq) after a reconnect
        self.gateway_queries: list[dict[str, str]] = []
        self.connections = 0
        self.recommended_shards = 1  # what GET /gateway/bot answers
        self._sessions: dict[str, tuple[int, int]] = {}  # gateway session id -> (shard id, shard count)
        self._shard_ws: dict[int, web.WebSocketResponse] = {}
        self._rate_limits: list[tuple[str, re.Pattern[str], float, bool]] = []
        self.rate_limited: list[Recorded] = []  # requests answered with a 429
        self.deleted: dict[int, dict[str, Any]] = {}  # messages removed by delete_message()
        self.files: dict[int, bytes] = {}  # attachment id -> the uploaded bytes
        self.sent_events: list[tuple[str, Any]] = []  # every DISPATCH sent to the bot
        self._ids = itertools.count(444444444444444444)
        self._seq = itertools.count(1)
        self._ws: web.WebSocketResponse | None = None
        self._ws_ready = asyncio.Event()
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ------------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/gateway/", self._gateway)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def close(self) -> None:
        for ws in {*self._shard_ws.values(), *([self._ws] if self._ws is not None else [])}:
            if not ws.closed:
                await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    def patch(self, monkeypatch: Any) -> None:
        """Point discord.py's REST and gateway at this fake for the current test."""
        import discord.gateway
        import discord.http
        import yarl

        monkeypatch.setattr(discord.http.Route, "BASE", self.api_base)
        monkeypatch.setattr(
            discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(self.gateway_url + "/")
        )

    # ------------------------------------------------------------------ the world
    def new_id(self) -> int:
        return next(self._ids)

    @staticmethod
    def _user_payload(user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
        return {
            "id": str(user_id),
            "username": name,
            "global_name": name,
            "discriminator": "0",
            "avatar": None,
            "bot": bot,
            "public_flags": 0,
        }

    def _channel(self, channel_id: int, name: str, kind: int, position: int) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(channel_id),
            "type": kind,
            "name": name,
            "guild_id": str(self.guild_id),
            "position": position,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
        }
        if kind == 2:
            data.update(bitrate=64000, user_limit=0, rtc_region=None)
        else:
            data.update(topic=None, rate_limit_per_user=0, last_message_id=None)
        return data

    def add_user(self, name: str, *, bot: bool = False) -> int:
        user_id = self.new_id()
        self.users[user_id] = self._user_payload(user_id, name, bot=bot)
        return user_id

    def _role_payload(self, role_id: int, name: str, position: int) -> dict[str, Any]:
        return {
            "id": str(role_id),
            "name": name,
            "permissions": str(MEMBER_PERMISSIONS),
            "position": position,
            "color": 0,
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }

    async def add_role(self, name: str) -> int:
        """A new role in the guild; a connected bot hears of it as Discord tells it (GUILD_ROLE_CREATE)."""
        role_id = self.new_id()
        self.roles[role_id] = self._role_payload(role_id, name, len(self.roles) + 1)
        if self._ws is not None:
            await self.dispatch(
                "GUILD_ROLE_CREATE", {"guild_id": str(self.guild_id), "role": self.roles[role_id]}
            )
        return role_id

    def give_role(self, user_id: int, role_id: int) -> None:
        """The member holds the role from now on: their member payloads list its id, as Discord's do."""
        self.member_roles.setdefault(user_id, []).append(role_id)

    def member_payload(self, user_id: int, permissions: int | None = None) -> dict[str, Any]:
        user = self.bot_user if user_id == self.app_id else self.users[user_id]
        data: dict[str, Any] = {
            "user": user,
            "roles": [str(role_id) for role_id in self.member_roles.get(user_id, [])],
            "joined_at": "2024-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "nick": None,
            "avatar": None,
        }
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data

    def _voice_state(self, user_id: int, channel_id: int | None) -> dict[str, Any]:
        return {
            "guild_id": str(self.guild_id),
            "channel_id": str(channel_id) if channel_id else None,
            "user_id": str(user_id),
            "member": self.member_payload(user_id),
            "session_id": f"voice-{user_id}",
            "deaf": False,
            "mute": False,
            "self_deaf": False,
            "self_mute": False,
            "self_video": False,
            "suppress": False,
            "request_to_speak_timestamp": None,
        }

    def guild_payload(self) -> dict[str, Any]:
        return {
            "id": str(self.guild_id),
            "name": "Test Server",
            "icon": None,
            "owner_id": str(next(iter(self.users), self.app_id)),
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": [self._role_payload(self.guild_id, "@everyone", 0), *self.roles.values()],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "system_channel_flags": 0,
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "unavailable": False,
            "member_count": len(self.users) + 1,
            "large": False,
            "joined_at": "2024-01-01T00:00:00+00:00",
            "channels": list(self.channels.values()),
            "threads": [],
            "members": [self.member_payload(self.app_id)],
            "voice_states": [self._voice_state(u, c) for u, c in self.voice_states.items()],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    # ------------------------------------------------------------------ waiting
    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(
        self, predicate: Callable[[], Any], timeout: float = 5.0, what: str = "condition"
    ) -> Any:
        """Wait until predicate() is truthy (re-checked after every request and event); return its value."""

        async def waiter() -> Any:
            async with self._changed:
                while True:
                    value = predicate()
                    if value:
                        return value
                    await self._changed.wait()

        try:
            return await asyncio.wait_for(waiter(), timeout)
        except TimeoutError:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}") from None

    async def wait_connected(self, timeout: float = 5.0) -> None:
        await asyncio.wait_for(self._ws_ready.wait(), timeout)

    # ------------------------------------------------------------------ gateway
    def guild_shard(self, shard_count: int) -> int:
        """Discord's rule: a guild lives on shard (guild_id >> 22) % shard_count."""
        return (self.guild_id >> 22) % max(shard_count, 1)

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connections += 1
        self.gateway_queries.append(dict(request.query))
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}}))
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            packet = json.loads(msg.data)
            op = packet.get("op")
            if op == 1:  # heartbeat
                await ws.send_str(json.dumps({"op": 11}))
            elif op == 2:  # identify
                self.identifies.append(packet["d"])
                shard_id, shard_count = packet["d"].get("shard") or (0, 1)
                await self._send_ready(ws, int(shard_id), int(shard_count))
            elif op == 6:  # resume: the same session continues on a new connection
                self.resumes.append(packet["d"])
                known = self._sessions.get(packet["d"].get("session_id"))
                if known is None:
                    await ws.send_str(json.dumps({"op": 9, "d": False}))  # invalid session: identify again
                    continue
                self._attach(ws, *known)
                await self._send(ws, "RESUMED", {})
                await self._notify()
        if self._ws is ws:
            self._ws = None
            self._ws_ready.clear()
        for shard_id, shard_ws in list(self._shard_ws.items()):
            if shard_ws is ws:
                del self._shard_ws[shard_id]
        return ws

    def _attach(self, ws: web.WebSocketResponse, shard_id: int, shard_count: int) -> None:
        self._shard_ws[shard_id] = ws
        if shard_id == self.guild_shard(shard_count):
            self._ws = ws
            self._ws_ready.set()

    async def drop_connection(self, code: int = 4000) -> None:
        """Close the guild's gateway connection as Discord does on a restart; the bot should RESUME."""
        await self.wait_connected()
        ws = self._ws
        assert ws is not None
        self._ws = None
        self._ws_ready.clear()
        await ws.close(code=code, message=b"fake: reconnect")

    async def _send(self, ws: web.WebSocketResponse, event: str, data: Any) -> None:
        self.sent_events.append((event, data))
        await ws.send_str(json.dumps({"op": 0, "t": event, "s": next(self._seq), "d": data}))

    async def _send_ready(self, ws: web.WebSocketResponse, shard_id: int = 0, shard_count: int = 1) -> None:
        mine = shard_id == self.guild_shard(shard_count)  # only the guild's shard hears about it
        session_id = f"session-{self.connections}"
        self._sessions[session_id] = (shard_id, shard_count)
        ready = {
            "v": 10,
            "user": {**self.bot_user, "verified": True, "mfa_enabled": False, "flags": 0},
            "guilds": [{"id": str(self.guild_id), "unavailable": True}] if mine else [],
            "session_id": session_id,
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.app_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
        }
        if shard_count > 1:
            ready["shard"] = [shard_id, shard_count]
        await self._send(ws, "READY", ready)
        if mine:
            await self._send(ws, "GUILD_CREATE", self.guild_payload())
        self._attach(ws, shard_id, shard_count)
        await self._notify()

    async def dispatch(
        self, event: str, data: dict[str, Any], *, shards: tuple[int, ...] | None = None
    ) -> None:
        """Send a gateway DISPATCH to the connected bot (the guild's shard), or to each of `shards`
        (another process's shard, or several: one event delivered to two processes)."""
        if shards is None:
            await self.wait_connected()
            assert self._ws is not None
            await self._send(self._ws, event, data)
            return
        for shard_id in shards:
            await self.wait_for(lambda s=shard_id: s in self._shard_ws, what=f"shard {shard_id} connected")
            await self._send(self._shard_ws[shard_id], event, data)

    # ------------------------------------------------------------------ what tests do as users
    def _option(self, name: str, value: Any, resolved: dict[str, Any]) -> dict[str, Any]:
        if isinstance(value, Channel):
            channel = self.channels[value.id]
            resolved.setdefault("channels", {})[str(value.id)] = {
                "id": str(value.id),
                "name": channel["name"],
                "type": channel["type"],
                "permissions": str(MEMBER_PERMISSIONS),
            }
            return {"name": name, "type": 7, "value": str(value.id)}
        if isinstance(value, Role):
            everyone = self._role_payload(self.guild_id, "@everyone", 0)
            role = everyone if value.id == self.guild_id else self.roles[value.id]
            resolved.setdefault("roles", {})[str(value.id)] = role
            return {"name": name, "type": 8, "value": str(value.id)}
        if isinstance(value, User):
            resolved.setdefault("users", {})[str(value.id)] = self.users[value.id]
            member = {k: v for k, v in self.member_payload(value.id).items() if k != "user"}
            resolved.setdefault("members", {})[str(value.id)] = member
            return {"name": name, "type": 6, "value": str(value.id)}
        if isinstance(value, bool):
            return {"name": name, "type": 5, "value": value}
        if isinstance(value, int):
            return {"name": name, "type": 4, "value": value}
        if isinstance(value, float):
            return {"name": name, "type": 10, "value": value}
        return {"name": name, "type": 3, "value": str(value)}

    def _base_interaction(
        self, kind: int, user_id: int, channel_id: int | None, permissions: int, data: dict[str, Any]
    ) -> FakeInteraction:
        channel_id = channel_id or self.channel_id
        iid = self.new_id()
        token = f"tok-{iid}"
        payload: dict[str, Any] = {
            "id": str(iid),
            "application_id": str(self.app_id),
            "type": kind,
            "token": token,
            "version": 1,
            "guild_id": str(self.guild_id),
            "channel_id": str(channel_id),
            "channel": self.channels[channel_id],
            "member": self.member_payload(user_id, permissions),
            "app_permissions": str(BOT_PERMISSIONS),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(self.guild_id)},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
            "data": data,
        }
        ix = FakeInteraction(iid, token, kind, user_id, channel_id, self.guild_id, payload, time.monotonic())
        self.interactions[iid] = ix
        self._by_token[token] = ix
        return ix

    def _command_data(
        self, name: str, subcommand: str | None, options: dict[str, Any], focused: str | None = None
    ) -> dict[str, Any]:
        resolved: dict[str, Any] = {}
        opts = [self._option(key, value, resolved) for key, value in options.items() if value is not None]
        for opt in opts:
            if opt["name"] == focused:
                opt["focused"] = True
                opt["type"] = 3
                opt["value"] = str(opt["value"])
        if subcommand:
            opts = [{"name": subcommand, "type": 1, "options": opts}]
        data: dict[str, Any] = {
            "id": str(self._command_id(name)),
            "name": name,
            "type": 1,
            "options": opts,
            "guild_id": str(self.guild_id),
        }
        if resolved:
            data["resolved"] = resolved
        return data

    def _command_id(self, name: str) -> int:
        for command in self.global_commands + self.guild_commands.get(self.guild_id, []):
            if command["name"] == name:
                return int(command["id"])
        return 555555555555555555

    async def slash(
        self,
        user_id: int,
        name: str,
        subcommand: str | None = None,
        *,
        channel_id: int | None = None,
        permissions: int = MEMBER_PERMISSIONS,
        shards: tuple[int, ...] | None = None,
        **options: Any,
    ) -> FakeInteraction:
        """A user runs `/name [subcommand] options...` (delivered to `shards`: see dispatch)."""
        data = self._command_data(name, subcommand, options)
        ix = self._base_interaction(APPLICATION_COMMAND, user_id, channel_id, permissions, data)
        await self.dispatch("INTERACTION_CREATE", ix.payload, shards=shards)
        return ix

    async def autocomplete(
        self, user_id: int, name: str, focused: str, value: str, subcommand: str | None = None, **options: Any
    ) -> FakeInteraction:
        data = self._command_data(name, subcommand, {**options, focused: value}, focused=focused)
        ix = self._base_interaction(AUTOCOMPLETE, user_id, None, MEMBER_PERMISSIONS, data)
        await self.dispatch("INTERACTION_CREATE", ix.payload)
        return ix

    async def click(self, user_id: int, message_id: int, custom_id: str) -> FakeInteraction:
        """A user presses the button `custom_id` on a message the bot posted."""
        message = self.messages[message_id]
        ids = [c.get("custom_id") for row in message.get("components", []) for c in row.get("components", [])]
        assert custom_id in ids, f"no button {custom_id!r} on message {message_id}: {ids}"
        data = {"custom_id": custom_id, "component_type": 2}
        ix = self._base_interaction(
            MESSAGE_COMPONENT, user_id, int(message["channel_id"]), MEMBER_PERMISSIONS, data
        )
        ix.payload["message"] = json.loads(json.dumps(message))
        await self.dispatch("INTERACTION_CREATE", ix.payload)
        return ix

    async def choose(self, user_id: int, message_id: int, custom_id: str, *values: str) -> FakeInteraction:
        """A user picks `values` in the select menu `custom_id` on a message the bot posted."""
        message = self.messages[message_id]
        menus = {
            c.get("custom_id"): c
            for row in message.get("components", [])
            for c in row.get("components", [])
            if c.get("type") == 3
        }
        assert custom_id in menus, f"no select menu {custom_id!r} on message {message_id}: {list(menus)}"
        offered = {o["value"] for o in menus[custom_id].get("options", [])}
        assert set(values) <= offered, f"{values} not among the options {offered}"
        data = {"custom_id": custom_id, "component_type": 3, "values": list(values)}
        ix = self._base_interaction(
            MESSAGE_COMPONENT, user_id, int(message["channel_id"]), MEMBER_PERMISSIONS, data
        )
        ix.payload["message"] = json.loads(json.dumps(message))
        await self.dispatch("INTERACTION_CREATE", ix.payload)
        return ix

    async def react(
        self,
        user_id: int,
        message_id: int,
        emoji: str,
        *,
        add: bool = True,
        shards: tuple[int, ...] | None = None,
    ) -> None:
        """A user adds (or removes) a unicode reaction: MESSAGE_REACTION_ADD / _REMOVE.

        Works on a message deleted with delete_message() too: the event can still be in flight.
        """
        message = self.messages.get(message_id) or self.deleted[message_id]
        users = self.reactions.setdefault(message_id, {}).setdefault(emoji, [])
        if add and user_id not in users:
            users.append(user_id)
        elif not add and user_id in users:
            users.remove(user_id)
        data: dict[str, Any] = {
            "user_id": str(user_id),
            "channel_id": message["channel_id"],
            "message_id": str(message_id),
            "guild_id": str(self.guild_id),
            "emoji": {"id": None, "name": emoji},
            "burst": False,
            "type": 0,
        }
        if add:
            data["member"] = self.member_payload(user_id)
            data["message_author_id"] = message["author"]["id"]
            data["burst_colors"] = []
        await self.dispatch("MESSAGE_REACTION_ADD" if add else "MESSAGE_REACTION_REMOVE", data, shards=shards)

    async def move_voice(self, user_id: int, channel_id: int | None) -> None:
        """A user joins, moves between or (channel_id=None) leaves voice channels."""
        if channel_id is None:
            self.voice_states.pop(user_id, None)
        else:
            self.voice_states[user_id] = channel_id
        await self.dispatch("VOICE_STATE_UPDATE", self._voice_state(user_id, channel_id))

    # ------------------------------------------------------------------ reading what the bot did
    def visible_messages(self, ix: FakeInteraction) -> list[dict[str, Any]]:
        """Messages the interaction produced that a user can see (placeholders excluded)."""
        ids = ([ix.original_id] if ix.original_id else []) + ix.followup_ids
        out = [self.messages[i] for i in ids if i in self.messages]
        return [m for m in out if not m["flags"] & LOADING]

    async def wait_reply(
        self, ix: FakeInteraction, count: int = 1, timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        """Wait until the interaction shows `count` messages (or autocomplete choices / an update)."""

        def done() -> Any:
            if ix.choices is not None or ix.errors:
                return True
            if ix.callback_type in (CB_UPDATE_MESSAGE, CB_DEFERRED_UPDATE):
                return ix.edits > 0
            return len(self.visible_messages(ix)) >= count

        await self.wait_for(done, timeout, f"{count} replies to interaction {ix.payload['data'].get('name')}")
        assert not ix.errors, ix.errors
        return self.visible_messages(ix)

    def requests_to(self, method: str, pattern: str) -> list[Recorded]:
        regex = re.compile(pattern)
        return [r for r in self.requests if r.method == method and regex.search(r.path)]

    def bot_reactions(self, message_id: int) -> list[str]:
        return [e for e, users in self.reactions.get(message_id, {}).items() if self.app_id in users]

    # ------------------------------------------------------------------ REST
    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + unquote(request.match_info["tail"])
        body: Any = None
        if request.content_type.startswith("multipart/"):  # a message with files: payload_json + files[n]
            body = await self._multipart(request)
        elif request.can_read_body:
            text = await request.text()
            if text:
                try:
                    body = json.loads(text)
                except json.JSONDecodeError:
                    body = text
        record = Recorded(request.method, path, dict(request.query), body, time.monotonic())
        self.requests.append(record)
        limited = self._take_rate_limit(request.method, path)
        if limited is not None:
            retry_after, is_global = limited
            scope = "global" if is_global else "shared"
            return await self._too_many(record, retry_after, scope, {})
        verdict = self._bucket_verdict(request.method, path, body)
        if verdict is not None and verdict.retry_after is not None:
            return await self._too_many(record, verdict.retry_after, verdict.scope, verdict.headers)
        try:
            status, payload = await self._route(request.method, path, dict(request.query), body)
        except _HTTPError as error:
            status, payload = error.status, {"code": error.code, "message": error.message}
        record.status = status
        await self._notify()
        headers = dict(verdict.headers) if verdict is not None else {}
        if status == 204:
            return web.Response(status=204, headers=headers)
        # discord.py parses JSON only when the Content-Type is exactly `application/json` (no charset).
        headers["Content-Type"] = "application/json"
        return web.Response(status=status, body=json.dumps(payload).encode(), headers=headers)

    async def _too_many(
        self, record: Recorded, retry_after: float, scope: str, headers: dict[str, str]
    ) -> web.Response:
        """Discord's 429: JSON body with retry_after (seconds), the scope, and the bucket's headers."""
        record.status = 429
        self.rate_limited.append(record)
        await self._notify()
        is_global = scope == "global"
        payload = {"message": "You are being rate limited.", "retry_after": retry_after, "global": is_global}
        headers = {
            **headers,
            "Content-Type": "application/json",
            "Via": "1.1 google",  # discord.py treats a 429 without Via as a Cloudflare ban
            "Retry-After": str(max(1, math.ceil(retry_after))),
            "X-RateLimit-Scope": scope,
        }
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        return web.Response(status=429, body=json.dumps(payload).encode(), headers=headers)

    def _bucket_verdict(self, method: str, path: str, body: Any) -> Verdict | None:
        """In rate-limit mode: the request's buckets, plus its channel's message bucket when it is a
        follow-up that will post a new public message."""
        if self.limiter is None:
            return None
        shared: tuple[tuple[BucketRule, str], ...] = ()
        m = re.fullmatch(rf"/webhooks/{self.app_id}/([^/]+)", path)
        if m and method == "POST" and isinstance(body, dict):
            ix = self._by_token.get(m[1])
            fills_placeholder = ix is not None and ix.loading and ix.original_id in self.messages
            if ix is not None and not fills_placeholder and not (body.get("flags") or 0) & EPHEMERAL:
                shared = ((CHANNEL_MESSAGES, str(ix.channel_id)),)
        return self.limiter.check(method, path, shared)

    @staticmethod
    async def _multipart(request: web.Request) -> dict[str, Any]:
        form = await request.post()
        payload = form.get("payload_json")
        body: dict[str, Any] = json.loads(payload) if isinstance(payload, str) else {}
        body["_uploads"] = [
            {"filename": f.filename, "content_type": f.content_type, "data": f.file.read()}
            for f in form.values()
            if isinstance(f, web.FileField)
        ]
        return body

    def _uploaded(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """Discord's attachment objects for the files sent with a message (bytes kept in `files`)."""
        out = []
        for upload in body.get("_uploads") or []:
            attachment_id = self.new_id()
            self.files[attachment_id] = upload["data"]
            url = f"https://cdn.discordapp.test/attachments/{attachment_id}/{upload['filename']}"
            out.append(
                {
                    "id": str(attachment_id),
                    "filename": upload["filename"],
                    # Discord names the type from the file (discord.py sends octet-stream for all)
                    "content_type": mimetypes.guess_type(upload["filename"])[0] or upload["content_type"],
                    "size": len(upload["data"]),
                    "url": url,
                    "proxy_url": url,
                }
            )
        return out

    def rate_limit_once(
        self, method: str, pattern: str, retry_after: float = 0.25, *, is_global: bool = False
    ) -> None:
        """Answer the next `method` request whose path matches `pattern` with a 429 (then serve normally)."""
        self._rate_limits.append((method, re.compile(pattern), retry_after, is_global))

    def _take_rate_limit(self, method: str, path: str) -> tuple[float, bool] | None:
        for i, (want, regex, retry_after, is_global) in enumerate(self._rate_limits):
            if want == method and regex.search(path):
                del self._rate_limits[i]
                return retry_after, is_global
        return None

    def delete_message(self, message_id: int) -> dict[str, Any]:
        """Someone deletes a message (no gateway event is sent: the bot may not have seen it yet)."""
        message = self.messages.pop(message_id)
        self.deleted[message_id] = message
        self.reactions.pop(message_id, None)
        return message

    def _gateway_info(self, bot: bool) -> dict[str, Any]:
        info: dict[str, Any] = {"url": self.gateway_url}
        if bot:
            info["shards"] = self.recommended_shards
            info["session_start_limit"] = {
                "total": 1000,
                "remaining": 999,
                "reset_after": 0,
                "max_concurrency": 1,
            }
        return info

    async def _route(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        app = str(self.app_id)
        if path in ("/gateway", "/gateway/bot") and method == "GET":
            return 200, self._gateway_info(bot=path.endswith("/bot"))
        if path == "/users/@me" and method == "GET":
            return 200, {**self.bot_user, "verified": True, "mfa_enabled": False, "flags": 0}
        if path == "/oauth2/applications/@me" and method == "GET":
            return 200, self._app_info()
        m = re.fullmatch(rf"/applications/{app}(?:/guilds/(\d+))?/commands", path)
        if m:
            return self._commands(method, int(m[1]) if m[1] else None, body)
        m = re.fullmatch(r"/interactions/(\d+)/([^/]+)/callback", path)
        if m and method == "POST":
            return self._callback(int(m[1]), m[2], body)
        m = re.fullmatch(rf"/webhooks/{app}/([^/]+)(?:/messages/(@original|\d+))?", path)
        if m:
            return self._webhook(method, m[1], m[2], query, body)
        m = re.fullmatch(r"/channels/(\d+)/messages/(\d+)/reactions/([^/]+)/@me", path)
        if m:
            return self._own_reaction(method, int(m[1]), int(m[2]), m[3])
        m = re.fullmatch(r"/channels/(\d+)/messages/(\d+)", path)
        if m and method == "GET":
            message = self.messages.get(int(m[2]))
            if message is None or message["channel_id"] != m[1]:
                raise _HTTPError(404, 10008, "Unknown Message")
            return 200, message
        m = re.fullmatch(r"/channels/(\d+)/messages", path)
        if m and method == "POST":
            self._validate_message(body)
            message = self._new_message(int(m[1]), body, flags=0)
            return 200, message
        m = re.fullmatch(r"/channels/(\d+)", path)
        if m and method == "GET" and int(m[1]) in self.channels:
            return 200, self.channels[int(m[1])]
        self.unhandled.append(self.requests[-1])
        raise _HTTPError(404, 0, "404: Not Found")

    def _app_info(self) -> dict[str, Any]:
        return {
            "id": str(self.app_id),
            "name": "songrec",
            "description": "music suggestions",
            "icon": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": self._user_payload(999999999999999999, "owner"),
            "verify_key": "0" * 64,
            "flags": 0,
            "team": None,
            "summary": "",
            "rpc_origins": [],
            "interactions_endpoint_url": None,
            "bot": self.bot_user,
        }

    def _commands(self, method: str, guild_id: int | None, body: Any) -> tuple[int, Any]:
        store = self.global_commands if guild_id is None else self.guild_commands.setdefault(guild_id, [])
        if method == "GET":
            return 200, store
        if method != "PUT":
            raise _HTTPError(405, 0, "405: Method Not Allowed")
        if not isinstance(body, list) or len(body) > 100:
            raise _HTTPError(400, 50035, "Invalid Form Body")
        synced = []
        for command in body:
            self._validate_command(command)
            permissions = command.get("default_member_permissions")
            synced.append(
                {
                    **command,
                    # Discord answers with the permission bits as a string.
                    "default_member_permissions": str(permissions) if permissions is not None else None,
                    "id": str(self.new_id()),
                    "application_id": str(self.app_id),
                    "version": str(self.new_id()),
                    **({"guild_id": str(guild_id)} if guild_id else {}),
                }
            )
        store[:] = synced
        return 200, synced

    def _validate_command(self, command: dict[str, Any]) -> None:
        name = command.get("name", "")
        if not re.fullmatch(r"[-_\w]{1,32}", name) or name != name.lower():
            self._violation(f"bad command name {name!r}")
        if not 1 <= len(command.get("description", "")) <= 100:
            self._violation(f"bad description for {name}")
        for option in command.get("options", []):
            if not 1 <= len(option.get("description", "")) <= 100:
                self._violation(f"bad option description {name}.{option.get('name')}")

    def _violation(self, text: str) -> None:
        self.violations.append(text)
        raise _HTTPError(400, 50035, f"Invalid Form Body: {text}")

    # -- interactions
    def _callback(self, iid: int, token: str, body: dict[str, Any]) -> tuple[int, Any]:
        ix = self.interactions.get(iid)
        if ix is None or ix.token != token:
            raise _HTTPError(404, 10062, "Unknown interaction")
        if time.monotonic() - ix.sent_at > self.deadline_s:
            ix.errors.append("callback after the 3-second deadline")
            raise _HTTPError(404, 10062, "Unknown interaction")
        if ix.acknowledged:
            ix.errors.append("acknowledged twice")
            raise _HTTPError(400, 40060, "Interaction has already been acknowledged.")
        kind = body["type"]
        data = body.get("data") or {}
        if kind in (CB_MESSAGE, CB_UPDATE_MESSAGE):
            self._validate_message(data)
        ix.callbacks.append(body)
        ix.callback_at = time.monotonic()
        resource: dict[str, Any] = {"type": kind}
        message: dict[str, Any] | None = None
        if kind == CB_MESSAGE:
            message = self._new_message(ix.channel_id, data, flags=data.get("flags", 0), interaction=ix)
            ix.original_id = int(message["id"])
        elif kind == CB_DEFERRED_MESSAGE:
            flags = (data.get("flags", 0) & EPHEMERAL) | LOADING
            message = self._new_message(ix.channel_id, {"content": ""}, flags=flags, interaction=ix)
            ix.original_id = int(message["id"])
            ix.loading = True
        elif kind == CB_UPDATE_MESSAGE:
            ix.original_id = int(ix.payload["message"]["id"])
            message = self._edit(ix.original_id, data)
            ix.edits += 1
        elif kind == CB_DEFERRED_UPDATE and "message" in ix.payload:
            # Later edits of "@original" edit the message that carries the component.
            ix.original_id = int(ix.payload["message"]["id"])
        elif kind == CB_AUTOCOMPLETE:
            choices = data.get("choices", [])
            if len(choices) > 25:
                self._violation("more than 25 autocomplete choices")
            for choice in choices:
                if not 1 <= len(choice["name"]) <= 100 or len(str(choice["value"])) > 100:
                    self._violation(f"bad autocomplete choice {choice!r:.200}")
            ix.choices = choices
        elif kind != CB_DEFERRED_UPDATE:
            raise _HTTPError(400, 50035, f"Unsupported callback type {kind}")
        if message is not None:
            resource["message"] = message
        response = {
            "interaction": {
                "id": str(ix.id),
                "type": ix.type,
                "response_message_id": message["id"] if message else None,
                "response_message_loading": kind == CB_DEFERRED_MESSAGE,
                "response_message_ephemeral": bool(message and message["flags"] & EPHEMERAL),
            },
            "resource": resource,
        }
        return 200, response

    def _webhook(
        self, method: str, token: str, target: str | None, query: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        ix = self._by_token.get(token)
        if ix is None:
            raise _HTTPError(404, 10015, "Unknown Webhook")
        if not ix.acknowledged:
            ix.errors.append("follow-up before the interaction was acknowledged")
            raise _HTTPError(404, 10015, "Unknown Webhook")
        if target is None:
            if method != "POST":
                raise _HTTPError(405, 0, "405: Method Not Allowed")
            self._validate_message(body)
            if ix.loading and ix.original_id in self.messages:
                # Discord: the first follow-up after a "thinking" defer becomes that message, and
                # keeps the defer's visibility whatever flags the follow-up asked for.
                placeholder = self.messages[ix.original_id]
                ix.loading = False
                message = self._edit(ix.original_id, body)
                message["flags"] = placeholder["flags"] & EPHEMERAL
            else:
                message = self._new_message(ix.channel_id, body, flags=body.get("flags", 0), interaction=ix)
                ix.followup_ids.append(int(message["id"]))
            return (200, message) if query.get("wait") in ("1", "true", "True") else (204, None)
        message_id = ix.original_id if target == "@original" else int(target)
        if message_id is None or message_id not in self.messages:
            raise _HTTPError(404, 10008, "Unknown Message")
        if method == "GET":
            return 200, self.messages[message_id]
        if method == "PATCH":
            self._validate_message(body)
            if message_id == ix.original_id:
                ix.loading = False
                ix.edits += 1
            return 200, self._edit(message_id, body)
        if method == "DELETE":
            del self.messages[message_id]
            if message_id == ix.original_id:
                ix.loading = False
            return 204, None
        raise _HTTPError(405, 0, "405: Method Not Allowed")

    def _own_reaction(self, method: str, channel_id: int, message_id: int, emoji: str) -> tuple[int, Any]:
        message = self.messages.get(message_id)
        if message is None or message["channel_id"] != str(channel_id):
            raise _HTTPError(404, 10008, "Unknown Message")
        if message["flags"] & EPHEMERAL:
            raise _HTTPError(400, 50021, "Cannot execute action on a system message")
        users = self.reactions.setdefault(message_id, {}).setdefault(emoji, [])
        if method == "PUT":
            if self.app_id not in users:
                users.append(self.app_id)
                if self.echo_own_reactions:  # Discord echoes the bot's own reactions on the gateway
                    asyncio.get_running_loop().create_task(self._echo_own(message, emoji))
            return 204, None
        if method == "DELETE":
            if self.app_id in users:
                users.remove(self.app_id)
            return 204, None
        raise _HTTPError(405, 0, "405: Method Not Allowed")

    async def _echo_own(self, message: dict[str, Any], emoji: str) -> None:
        data = {
            "user_id": str(self.app_id),
            "channel_id": message["channel_id"],
            "message_id": message["id"],
            "guild_id": str(self.guild_id),
            "member": self.member_payload(self.app_id),
            "emoji": {"id": None, "name": emoji},
            "burst": False,
            "type": 0,
            "message_author_id": str(self.app_id),
        }
        if self._ws is not None:
            await self._send(self._ws, "MESSAGE_REACTION_ADD", data)

    # -- messages
    def _new_message(
        self, channel_id: int, body: dict[str, Any], *, flags: int, interaction: FakeInteraction | None = None
    ) -> dict[str, Any]:
        message_id = self.new_id()
        message = {
            "id": str(message_id),
            "channel_id": str(channel_id),
            "guild_id": str(self.guild_id),
            "author": self.bot_user,
            "content": body.get("content") or "",
            "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "attachments": self._uploaded(body),
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "type": 20 if interaction is not None else 0,
            "flags": flags,
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "application_id": str(self.app_id),
        }
        if interaction is not None:
            message["webhook_id"] = str(self.app_id)
        self.messages[message_id] = message
        self.allowed_mentions[message_id] = body.get("allowed_mentions")
        return message

    def _edit(self, message_id: int, body: dict[str, Any]) -> dict[str, Any]:
        message = self.messages[message_id]
        for key in ("content", "embeds", "components"):
            if key in body:
                message[key] = body[key] if body[key] is not None else ([] if key != "content" else "")
        if "allowed_mentions" in body:
            self.allowed_mentions[message_id] = body["allowed_mentions"]
        if body.get("_uploads"):  # files sent with an edit (or the follow-up that fills a placeholder)
            message["attachments"] = [*message.get("attachments", []), *self._uploaded(body)]
        message["flags"] = message["flags"] & ~LOADING
        message["edited_timestamp"] = _now_iso()
        return message

    def _validate_message(self, body: Any) -> None:
        """Discord's size limits: a 400 here is a 400 in production."""
        if not isinstance(body, dict):
            self._violation("message body is not a JSON object")
        if len(body.get("content") or "") > 2000:
            self._violation("content longer than 2000")
        embeds = body.get("embeds") or []
        if len(embeds) > 10:
            self._violation("more than 10 embeds")
        for embed in embeds:
            total = 0
            for key, limit in (("title", 256), ("description", 4096)):
                size = len(embed.get(key) or "")
                total += size
                if size > limit:
                    self._violation(f"embed {key} longer than {limit}")
            fields = embed.get("fields") or []
            if len(fields) > 25:
                self._violation("more than 25 embed fields")
            for f in fields:
                if not 1 <= len(f.get("name", "")) <= 256 or not 1 <= len(f.get("value", "")) <= 1024:
                    self._violation("embed field name/value size")
                total += len(f["name"]) + len(f["value"])
            footer = (embed.get("footer") or {}).get("text") or ""
            author = (embed.get("author") or {}).get("name") or ""
            if len(footer) > 2048 or len(author) > 256:
                self._violation("embed footer/author too long")
            total += len(footer) + len(author)
            if total > 6000:
                self._violation("embed longer than 6000 in total")
            url = embed.get("url")
            if url is not None and not re.fullmatch(r"https?://\S+", url):
                self._violation(f"bad embed url {url!r:.100}")
        if sum(_embed_length(e) for e in embeds) > 6000:
            self._violation("the embeds of one message longer than 6000 in total")
        rows = body.get("components") or []
        if len(rows) > 5:
            self._violation("more than 5 component rows")
        custom_ids = [
            c.get("custom_id") for row in rows for c in row.get("components", []) if c.get("custom_id")
        ]
        if len(custom_ids) != len(set(custom_ids)):
            self._violation("two components with the same custom_id")
        for row in rows:
            items = row.get("components", [])
            if len(items) > 5:
                self._violation("more than 5 buttons in a row")
            for item in items:
                if len(item.get("custom_id", "")) > 100 or len(item.get("label") or "") > 80:
                    self._violation("component custom_id/label too long")
                if item.get("type") == 3:
                    self._validate_select(item, len(items))

    def _validate_select(self, menu: dict[str, Any], row_size: int) -> None:
        if row_size != 1:
            self._violation("a select menu must be alone in its row")
        options = menu.get("options") or []
        if not 1 <= len(options) <= 25:
            self._violation("a select menu holds 1 to 25 options")
        if len({o.get("value") for o in options}) != len(options):
            self._violation("select options with the same value")
        for option in options:
            if (
                not 1 <= len(option.get("label") or "") <= 100
                or not 1 <= len(option.get("value") or "") <= 100
            ):
                self._violation(f"bad select option {option!r:.200}")
            if len(option.get("description") or "") > 100:
                self._violation("select option description longer than 100")
        if len(menu.get("placeholder") or "") > 150:
            self._violation("select placeholder longer than 150")


def _embed_length(embed: dict[str, Any]) -> int:
    """The characters Discord counts toward the 6000 shared by all embeds of a message."""
    fields = embed.get("fields") or []
    return (
        len(embed.get("title") or "")
        + len(embed.get("description") or "")
        + sum(len(f.get("name", "")) + len(f.get("value", "")) for f in fields)
        + len((embed.get("footer") or {}).get("text") or "")
        + len((embed.get("author") or {}).get("name") or "")
    )


class _HTTPError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
