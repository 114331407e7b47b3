"""Each backend implements the whole contract (songrec/store/contract.py), with the contract's
signatures, so the service can hold any of them as a StoreBackend."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from songrec.store import StoreBackend, contract

CONCERNS = [
    contract.UserStore,
    contract.FeedbackStore,
    contract.SuggestionStore,
    contract.SessionStore,
    contract.GuildStore,
    contract.TrainingRunStore,
    contract.SpotifyCacheStore,
    contract.PrivacyStore,
    contract.MaintenanceStore,
]


def _methods(protocol: type) -> dict[str, Callable[..., Any]]:
    return {
        name: member
        for name, member in vars(protocol).items()
        if callable(member) and not name.startswith("_")
    }


def test_the_concerns_do_not_overlap_and_make_up_the_backend() -> None:
    names = [name for concern in CONCERNS for name in _methods(concern)]
    assert len(names) == len(set(names)), "a method belongs to one concern"
    assert set(names) <= set(dir(StoreBackend))


async def test_the_backend_has_every_contract_method_with_its_signature(store: StoreBackend) -> None:
    assert isinstance(store, StoreBackend)
    for concern in CONCERNS:
        for name, stub in _methods(concern).items():
            method = getattr(store, name)
            assert callable(method), name
            got, expected = inspect.signature(method), inspect.signature(stub)
            assert list(got.parameters) == list(expected.parameters)[1:], name  # less self
            kinds = [p.kind for p in got.parameters.values()]
            assert kinds == [p.kind for p in list(expected.parameters.values())[1:]], name
            if inspect.iscoroutinefunction(stub):
                assert inspect.iscoroutinefunction(method), f"{name} must be async"
            else:  # iter_feedback: an async iterator
                assert inspect.isasyncgenfunction(method), f"{name} must be an async generator"
