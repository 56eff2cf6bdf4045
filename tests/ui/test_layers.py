"""Dependencies in the interface point one way: screens and widgets never import the app
(they post messages, or are given what they need); only the app module imports them all."""

from __future__ import annotations

import ast
from pathlib import Path

from textual.binding import Binding

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


def test_every_palette_action_and_key_of_the_main_screen_has_its_action() -> None:
    from tui.ui.app import MailtuiApp
    from tui.ui.commands import ACTIONS
    from tui.ui.main_screen import MainScreen

    names = [action for _title, _help, action in ACTIONS]
    names += ["cancel_send", "add_network", "retry", "app.toggle_network", "app.mailbox"]
    names += [binding.action for binding in MainScreen.BINDINGS if isinstance(binding, Binding)]
    missing = [
        name
        for name in names
        if not hasattr(
            MailtuiApp if name.startswith("app.") else MainScreen,
            f"action_{name.removeprefix('app.')}",
        )
    ]
    assert missing == []


def test_the_main_screen_owns_sending_and_the_app_only_wires() -> None:
    """Sending, checking and the form's actions are the main screen's, with its workers."""
    from tui.ui.app import MailtuiApp
    from tui.ui.main_screen import MainScreen

    for name in ("action_send", "action_retry", "action_check_profile", "send_message"):
        assert hasattr(MainScreen, name) and not hasattr(MailtuiApp, name), name
