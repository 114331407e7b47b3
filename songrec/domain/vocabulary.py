"""The words the store, the service and the front ends share: kinds, sources, strategies, defaults.

One value per default: the database, the service and the front ends all read them from here.
"""

from __future__ import annotations

from typing import Literal, get_args

#: Where a vote came from. chat and cli are the terminal front ends.
FeedbackSource = Literal["command", "reaction", "button", "session", "chat", "cli"]
#: Which branch of the recommender produced a suggestion. "taste" picks come from the user's liked
#: tracks, "content" picks from seeds the user named, "session" picks from a group session's blend.
SuggestionKind = Literal["content", "taste", "explore", "cold_start", "similar_users", "session"]
#: How a group session combines its members' scores.
SessionStrategy = Literal["average", "least_misery"]
TrainingStatus = Literal["running", "succeeded", "failed", "skipped", "cancelled"]

FEEDBACK_SOURCES: frozenset[str] = frozenset(get_args(FeedbackSource))
SUGGESTION_KINDS: frozenset[str] = frozenset(get_args(SuggestionKind))
SESSION_STRATEGIES: frozenset[str] = frozenset(get_args(SessionStrategy))
TRAINING_STATUSES: frozenset[str] = frozenset(get_args(TrainingStatus))

#: Share of exploratory picks when neither the request, the user nor the guild says otherwise.
DEFAULT_EXPLORE_RATE = 0.2
DEFAULT_SESSION_STRATEGY: SessionStrategy = "average"
