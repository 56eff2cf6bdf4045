"""A password typed at the prompt is kept for the app's session, in memory only."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import PASSWORD, Pki, portal_profile
from tests.ui.conftest import wait_for
from tui.core.results import Outcome
from tui.demo.servers import RunningServer
from tui.ui.app import MailtuiApp
from tui.ui.screens.password import PasswordScreen


async def send_to(app: MailtuiApp, pilot: object, address: str, password: str | None) -> bool:
    """Send one message; type `password` if asked. Returns whether the prompt came."""
    asked = False
    await pilot.press(*address)  # type: ignore[attr-defined]
    await pilot.press("ctrl+s")  # type: ignore[attr-defined]
    await wait_for(
        pilot,  # type: ignore[arg-type]
        lambda: isinstance(app.screen, PasswordScreen) or not app.main.sending,
    )
    if isinstance(app.screen, PasswordScreen):
        asked = True
        assert password is not None
        await pilot.press(*password, "enter")  # type: ignore[attr-defined]
    await wait_for(pilot, lambda: not app.main.sending)  # type: ignore[arg-type]
    return asked


async def test_a_typed_password_is_asked_once_per_session(
    home: Path, portal_server: RunningServer, pki: Pki
) -> None:
    portal_profile(home, portal_server, pki, password=None)  # no stored secret: a prompt
    app = MailtuiApp(profile_id="portal")
    async with app.run_test(size=(160, 48)) as pilot:
        assert await send_to(app, pilot, "bob@example.org", PASSWORD)
        assert app.pane.state == "sent"
        assert not await send_to(app, pilot, "carol@example.org", None)  # not asked again
        assert app.pane.state == "sent"
    assert len(portal_server.messages) == 2
    # Never on disk: the leak guard (tests/conftest.py) reads every file under MAILTUI_HOME.


async def test_a_refused_password_is_forgotten(
    home: Path, portal_server: RunningServer, pki: Pki
) -> None:
    portal_profile(home, portal_server, pki, password=None)
    app = MailtuiApp(profile_id="portal")
    async with app.run_test(size=(160, 48)) as pilot:
        assert await send_to(app, pilot, "bob@example.org", "not the password")
        assert (
            app.main.last_result is not None and app.main.last_result.outcome is Outcome.AUTH_FAILED
        )
        app.form.clear()
        assert await send_to(app, pilot, "bob@example.org", PASSWORD)  # asked again
        assert app.pane.state == "sent"
    assert len(portal_server.messages) == 1
