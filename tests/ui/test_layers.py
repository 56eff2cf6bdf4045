"""Dependencies in the interface point one way: screens and widgets never import the app
(they post messages, or are given what they need); only the app module imports them all."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

UI = REPO / "tui" / "ui"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


def test_nothing_in_the_interface_but_the_app_module_imports_the_app() -> None:
    offenders = [
        str(path.relative_to(REPO))
        for path in sorted(UI.rglob("*.py"))
        if path.name != "app.py" or path.parent != UI
        if "tui.ui.app" in _imports(path)
    ]
    assert offenders == [], f"these import the app: {offenders}"


def test_every_palette_action_is_an_action_of_the_app() -> None:
    from tui.ui.app import MailtuiApp
    from tui.ui.commands import ACTIONS

    names = [action for _title, _help, action in ACTIONS]
    names += ["cancel_send", "add_network", "retry", "toggle_network", "mailbox"]
    assert [n for n in names if not hasattr(MailtuiApp, f"action_{n}")] == []
