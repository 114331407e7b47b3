"""The bot tests' service double must stay interchangeable with the real service's Protocol."""

from __future__ import annotations

import inspect

from fakes.service_double import ServiceDouble

from songrec.service.api import SongService


def _protocol_methods() -> list[str]:
    return [
        name
        for name, value in vars(SongService).items()
        if inspect.iscoroutinefunction(value) and not name.startswith("_")
    ]


def test_double_has_every_protocol_method_with_the_same_signature() -> None:
    methods = _protocol_methods()
    assert len(methods) >= 20
    for name in methods:
        expected = inspect.signature(getattr(SongService, name))
        actual = inspect.signature(getattr(ServiceDouble, name))
        assert inspect.iscoroutinefunction(getattr(ServiceDouble, name)), name
        shape = [(p.name, p.kind, p.default) for p in expected.parameters.values()]
        assert [(p.name, p.kind, p.default) for p in actual.parameters.values()] == shape, name
