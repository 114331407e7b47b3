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
#: What a listener lets songrec do with their votes: "shared" (default) steers their own suggestions and
#: others' (listeners like you, /compat, the global models); "private" steers only their own; "off"
#: steers nothing (kept for their history and export, learned from by no model).
PrivacyChoice = Literal["shared", "private", "off"]
#: The spans /charts covers: the last 7 days, the last 30 days, or every vote.
ChartPeriod = Literal["week", "month", "all"]

FEEDBACK_SOURCES: frozenset[str] = frozenset(get_args(FeedbackSource))
SUGGESTION_KINDS: frozenset[str] = frozenset(get_args(SuggestionKind))
SESSION_STRATEGIES: frozenset[str] = frozenset(get_args(SessionStrategy))
TRAINING_STATUSES: frozenset[str] = frozenset(get_args(TrainingStatus))
PRIVACY_CHOICES: frozenset[str] = frozenset(get_args(PrivacyChoice))
CHART_PERIODS: tuple[str, ...] = get_args(ChartPeriod)
#: The key of the privacy choice in a user's settings JSON.
PRIVACY_SETTING = "privacy"
DEFAULT_PRIVACY: PrivacyChoice = "shared"

#: Share of exploratory picks when neither the request, the user nor the guild says otherwise.
DEFAULT_EXPLORE_RATE = 0.2
#: The most a listener may ask to explore for themselves (a server may set up to 1).
MAX_USER_EXPLORE_RATE = 0.5
DEFAULT_SESSION_STRATEGY: SessionStrategy = "average"
PRIVACY_CHOICES_HELP = (
    "Choose shared (the default), private (only your own suggestions) or off (learn nothing)."
)

#: What a listener's votes are used for under each privacy choice (/privacy says it).
PRIVACY_USES: dict[str, tuple[str, ...]] = {
    "shared": (
        "Your likes and dislikes steer your own suggestions.",
        "They help suggest songs to listeners like you, who may see your taste card (/taste).",
        "They train the global models at the next retrain.",
    ),
    "private": (
        "Your likes and dislikes steer your own suggestions.",
        "Nobody else is suggested songs from them or shown your taste card.",
        "They are left out of the global models from the next retrain on.",
    ),
    "off": (
        "Your votes are kept for your history and export only: no model learns from them, "
        "not even for your own suggestions.",
        "Nobody else is suggested songs from them or shown your taste card.",
        "They are left out of the global models from the next retrain on.",
    ),
}

#: The longest song text anyone may type (a title, "title - artist" or a link): the catalogue lookup's
#: limit, and so the Discord song options' too.
MAX_SONG_TEXT = 300
