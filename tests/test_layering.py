"""Which layer may import which, read from the source (every import, lazy ones inside functions included).

bot/ and training/ are both front ends of the core: the bot must run without training code, and the core
(songrec/) must not know either of them. The only place that wires them together is the composition
root, songrec/cli/serve.py (`songrec serve`, and `python -m bot`, which hands over to it).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import songrec.spotify

REPO = Path(__file__).resolve().parent.parent
COMPOSITION_ROOT = REPO / "songrec" / "cli" / "serve.py"
FRONT_ENDS = REPO / "songrec" / "cli"


def imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) for every import statement in the file, at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            for alias in node.names:  # `from songrec import cli` names a module too
                yield node.lineno, f"{node.module}.{alias.name}"


def offenders(package: str, forbidden: str, *, except_under: Path | None = None) -> list[str]:
    found = []
    for path in sorted((REPO / package).rglob("*.py")):
        if except_under is not None and path.is_relative_to(except_under):
            continue
        for line, module in imported_modules(path):
            if module == forbidden or module.startswith(forbidden + "."):
                found.append(f"{path.relative_to(REPO)}:{line} imports {module}")
    return found


def test_the_checker_sees_lazy_and_from_imports(tmp_path: Path) -> None:
    source = tmp_path / "sample.py"
    source.write_text(
        "import os\n"
        "def later():\n"
        "    from training.scheduler import start_embedded\n"
        "    import bot.app as app\n"
        "from songrec import cli\n"
        "from . import sibling\n",
        encoding="utf-8",
    )
    modules = {module for _, module in imported_modules(source)}
    assert {"os", "training.scheduler", "bot.app", "songrec", "songrec.cli"} <= modules
    assert "sibling" not in modules and ".sibling" not in modules


def test_bot_never_imports_training() -> None:
    assert offenders("bot", "training") == []


def test_songrec_never_imports_bot() -> None:
    assert offenders("songrec", "bot", except_under=COMPOSITION_ROOT) == []


def test_songrec_imports_training_only_from_the_composition_root() -> None:
    assert offenders("songrec", "training", except_under=COMPOSITION_ROOT) == []


def test_the_core_never_imports_its_front_ends() -> None:
    """songrec/cli/ is a front end too: nothing in the core, nor training/, may depend on it."""
    assert offenders("songrec", "songrec.cli", except_under=FRONT_ENDS) == []
    assert offenders("training", "songrec.cli") == []


def test_the_composition_root_wires_the_learning_loop_into_the_bot() -> None:
    """What the rules above push out of bot/ must have landed in songrec/cli/, not vanished."""
    serve = {module for _, module in imported_modules(COMPOSITION_ROOT)}
    assert "training.scheduler.start_embedded" in serve
    assert "bot.app.run_bot" in serve


@pytest.mark.parametrize("name", songrec.spotify.__all__)
def test_spotify_package_exports_resolve(name: str) -> None:
    assert getattr(songrec.spotify, name) is not None
