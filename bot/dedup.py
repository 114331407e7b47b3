""" "Was this event already handled?": interactions and reactions, checked in the shared state.

Discord can deliver one event to two processes (two sessions on one shard while a deploy overlaps, a
replay after a resume): the first process to claim it handles it, the other skips it quietly.
Interactions have a unique id, kept for as long as their token lives (15 minutes). Reactions have
none, so the claim is on the reaction's latest state ("add"/"remove") for that user, message and
emoji: a repeated add is a duplicate, while add, remove, add again is three real events.
"""

from __future__ import annotations

import logging
from typing import Any

import discord

from songrec.coordination import Coordination

log = logging.getLogger("songrec.bot")

INTERACTION_TTL_S = 15 * 60.0  # an interaction token's lifetime
REACTION_TTL_S = 10 * 60.0


async def first_delivery(coordination: Coordination, interaction: discord.Interaction[Any]) -> bool:
    """True for the first process to see this interaction; False (and one log line) for a duplicate."""
    if await coordination.claim(f"interaction:{interaction.id}", ttl_s=INTERACTION_TTL_S):
        return True
    log.info("interaction %s was already handled (delivered twice); skipped", interaction.id)
    return False


async def first_reaction(
    coordination: Coordination, payload: discord.RawReactionActionEvent, *, added: bool
) -> bool:
    """True for the first process to see this reaction change; False for a duplicate delivery."""
    key = f"reaction:{payload.message_id}:{payload.user_id}:{payload.emoji.name}"
    state = "add" if added else "remove"
    if await coordination.claim(key, ttl_s=REACTION_TTL_S, state=state):
        return True
    log.info(
        "reaction %s by %s on message %s was already handled (delivered twice); skipped",
        state,
        payload.user_id,
        payload.message_id,
    )
    return False
