"""Store failures as the user should hear them: every one becomes a SongrecError with a plain message."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from songrec.domain import InvalidInput, ServiceUnavailable
from songrec.domain import errors as store_errors

log = logging.getLogger(__name__)

BUSY = "The song database is busy right now; try again in a few seconds."
CLOSED = "songrec is restarting; try again in a moment."
BROKEN = "songrec couldn't reach its database just now; try again shortly."


@contextlib.contextmanager
def db_errors() -> Iterator[None]:
    """Translate store exceptions raised inside the block."""
    try:
        yield
    except store_errors.StoreBusy as exc:
        raise ServiceUnavailable(BUSY) from exc
    except store_errors.StoreClosed as exc:
        raise ServiceUnavailable(CLOSED) from exc
    except store_errors.SessionAlreadyActive as exc:
        raise InvalidInput(
            "A session is already running here: /session join it, or /session end it first."
        ) from exc
    except (store_errors.InvalidInput, store_errors.NotFound) as exc:
        raise InvalidInput(_sentence(str(exc))) from exc
    except store_errors.MigrationError as exc:
        raise ServiceUnavailable(str(exc)) from exc
    except store_errors.StoreError as exc:
        log.exception("database failure")
        raise ServiceUnavailable(BROKEN) from exc


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")
