"""Sending with an OAuth2 profile that has no sign-in yet opens the sign-in screen (the
code, the page, a QR code of it), waits for the approval, then sends; cancelling keeps the
message and sends nothing."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Pki, oauth_profile
from tests.oauth_server import OAuthServer
from tests.ui.conftest import screen_text, wait_for
from tui.core.oauth import store
from tui.demo.servers import RunningServer
from tui.ui.app import MailtuiApp
from tui.ui.screens.sign_in import SignInScreen


async def test_a_send_without_sign_in_opens_it_then_sends(
    home: Path, oauth_portal: RunningServer, pki: Pki, oauth_server: OAuthServer
) -> None:
    oauth_profile(home, oauth_portal, pki, oauth_server)
    app = MailtuiApp(profile_id="portal")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"bob@example.org")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, SignInScreen))
        await wait_for(pilot, lambda: bool(oauth_server.device_codes))
        [user_code] = oauth_server.device_codes.values()
        await wait_for(pilot, lambda: user_code in screen_text(pilot, "#sign-in-steps"))
        steps = screen_text(pilot, "#sign-in-steps")
        assert f"{oauth_server.url}/activate" in steps
        qr = screen_text(pilot, "#sign-in-qr")
        assert len(qr.splitlines()) > 10 and set(qr) <= set("█▀▄ \n")
        assert "Waiting for you to approve" in screen_text(pilot, "#sign-in-state")
        oauth_server.approve(user_code)  # the person, on their phone
        await wait_for(pilot, lambda: not isinstance(app.screen, SignInScreen))
        await wait_for(pilot, lambda: not app.main.sending)
        assert app.pane.state == "sent"
        assert store.load("portal") is not None
    assert len(oauth_portal.messages) == 1


async def test_cancelling_the_sign_in_sends_nothing_and_keeps_the_message(
    home: Path, oauth_portal: RunningServer, pki: Pki, oauth_server: OAuthServer
) -> None:
    oauth_profile(home, oauth_portal, pki, oauth_server)
    app = MailtuiApp(profile_id="portal")
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press(*"bob@example.org")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, SignInScreen))
        await wait_for(pilot, lambda: bool(oauth_server.device_codes))
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.main.sending)
        assert "sign-in did not finish" in screen_text(pilot, "#explanation")
        assert app.form.draft().to == ("bob@example.org",)
        assert store.load("portal") is None
    assert oauth_portal.messages == []


async def test_the_profile_editor_offers_the_sign_in(
    home: Path, oauth_portal: RunningServer, pki: Pki, oauth_server: OAuthServer
) -> None:
    from tui.ui.screens.profile_editor import ProfileEditor

    oauth_profile(home, oauth_portal, pki, oauth_server)
    app = MailtuiApp(profile_id="portal")
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, ProfileEditor))
        await pilot.press("f6")
        await wait_for(pilot, lambda: isinstance(app.screen, SignInScreen))
        await wait_for(pilot, lambda: bool(oauth_server.device_codes))
        [user_code] = oauth_server.device_codes.values()
        oauth_server.approve(user_code)
        await wait_for(pilot, lambda: isinstance(app.screen, ProfileEditor))
        assert store.load("portal") is not None
