"""State the processes of one deployment share: cooldowns, "already handled" events, locks, leases.

``Coordination`` (contract.py) is the interface; ``LocalCoordination`` keeps everything in this
process (the default, right for one bot process), ``RedisCoordination`` keeps it in Redis so several
bot processes and the training worker agree, and answers locally while Redis is away.
``open_coordination()`` picks one from SONGREC_REDIS_URL. See docs/scaling.md.
"""

from __future__ import annotations

from songrec.coordination.contract import KEY_PREFIX, Coordination, Lease
from songrec.coordination.local import LocalCoordination
from songrec.coordination.open import open_coordination

__all__ = ["KEY_PREFIX", "Coordination", "Lease", "LocalCoordination", "open_coordination"]
