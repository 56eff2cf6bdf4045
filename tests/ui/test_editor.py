"""ctrl+e hands the terminal to $EDITOR and always takes it back, whatever the editor does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.drivers.headless_driver import HeadlessDriver

from tests.conftest import isp_profile
from tests.ui.conftest import fill, screen_text, type_into, wait_for
from tui.demo.servers import RunningServer
from tui.ui.app import MailtuiApp


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Let the headless driver be suspended as a real terminal is, and record what Textual's
    own `App.suspend` does with it: "suspended" when it lets go, "resumed" when it takes the
    terminal back (which a real driver needs, or keys echo on a blank screen for good)."""
    events: list[str] = []
    monkeypatch.setattr(HeadlessDriver, "can_suspend", property(lambda _self: True))
    monkeypatch.setattr(
        HeadlessDriver, "suspend_application_mode", lambda _self: events.append("suspended")
    )
    monkeypatch.setattr(
        HeadlessDriver, "resume_application_mode", lambda _self: events.append("resumed")
    )
    yield events


def notifications(app: MailtuiApp) -> str:
    return "\n".join(n.message for n in app._notifications)


async def still_responds(app: MailtuiApp, pilot: object) -> None:
    await type_into(pilot, "#subject", "ok")  # type: ignore[arg-type]
    assert screen_text(pilot, "#subject") == "ok"  # type: ignore[arg-type]


async def test_a_missing_editor_is_said_and_the_app_stays(
    home: Path,
    plain_server: RunningServer,
    terminal: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    isp_profile(home, plain_server)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", "/nonexistent/editor")
    app = MailtuiApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await fill(pilot, "#body", "Kept as it was")
        await pilot.press("ctrl+e")
        await wait_for(pilot, lambda: bool(app._notifications))
        assert "The editor '/nonexistent/editor' could not be started" in notifications(app)
        assert "Set $EDITOR" in notifications(app)
        assert terminal == []  # never let go of the terminal for an editor that is not there
        assert app.form.draft().body == "Kept as it was"
        await still_responds(app, pilot)


async def test_an_editor_that_cannot_run_gives_the_terminal_back(
    home: Path,
    plain_server: RunningServer,
    terminal: list[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Found, but the system cannot start it (here its interpreter is missing)."""
    editor = tmp_path / "broken-editor"
    editor.write_text("#!/nonexistent/interpreter\n")
    editor.chmod(0o755)
    isp_profile(home, plain_server)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", str(editor))
    app = MailtuiApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await fill(pilot, "#body", "Kept as it was")
        await pilot.press("ctrl+e")
        await wait_for(pilot, lambda: bool(app._notifications))
        assert terminal == ["suspended", "resumed"]
        assert f"The editor '{editor}' could not be started" in notifications(app)
        assert app.form.draft().body == "Kept as it was"
        await still_responds(app, pilot)


async def test_an_editor_that_fails_leaves_the_body_unchanged(
    home: Path,
    plain_server: RunningServer,
    terminal: list[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    editor = tmp_path / "quitting-editor"
    editor.write_text('#!/bin/sh\necho "half-edited" > "$1"\nexit 1\n')
    editor.chmod(0o755)
    isp_profile(home, plain_server)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", str(editor))
    app = MailtuiApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await fill(pilot, "#body", "Kept as it was")
        await pilot.press("ctrl+e")
        await wait_for(pilot, lambda: bool(app._notifications))
        assert terminal == ["suspended", "resumed"]
        assert "exited with status 1" in notifications(app)
        assert app.form.draft().body == "Kept as it was"


async def test_the_editor_result_comes_back_into_the_body(
    home: Path,
    plain_server: RunningServer,
    terminal: list[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    editor = tmp_path / "appending-editor"
    editor.write_text('#!/bin/sh\nfor file; do :; done\necho "Second line" >> "$file"\n')
    editor.chmod(0o755)
    isp_profile(home, plain_server)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", f"{editor} --flag")  # with arguments, as EDITOR may have
    app = MailtuiApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await fill(pilot, "#body", "First line\n")
        await pilot.press("ctrl+e")
        await wait_for(pilot, lambda: "Second line" in app.form.draft().body)
        assert terminal == ["suspended", "resumed"]
        assert app.form.draft().body == "First line\nSecond line\n"
