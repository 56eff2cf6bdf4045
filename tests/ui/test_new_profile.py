"""F3 → a new profile from an email address: found in the background with its steps shown,
then the editor filled in, with where each setting came from. On loopback only."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Button, Input

from tests.conftest import DnsStarter, Pki, isp_profile
from tests.ui.conftest import screen_text, type_into, wait_for
from tests.web_server import WebServer, config_xml
from tui.demo.servers import RunningServer
from tui.ui.app import MailtuiApp
from tui.ui.screens.new_profile import NewProfileScreen
from tui.ui.screens.profile_editor import ProfileEditor


@pytest.fixture
def web(pki: Pki, dns_server: DnsStarter, monkeypatch: pytest.MonkeyPatch) -> Iterator[WebServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    pki.ca.issue_cert("autoconfig.example.org").configure_cert(context)
    server = WebServer({}, context)
    dns_server(answers={("autoconfig.example.org", "A"): ["127.0.0.1"]})
    ports = f"443={server.port},465=9,587=9,25=9,80=9"
    monkeypatch.setenv("MAILTUI_DISCOVERY_PORTS", ports)
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca_file))
    yield server
    server.close()


async def find(app: MailtuiApp, pilot: object, address: str) -> NewProfileScreen:
    await pilot.press("f3")  # type: ignore[attr-defined]
    await wait_for(pilot, lambda: isinstance(app.screen, NewProfileScreen))  # type: ignore[arg-type]
    await type_into(pilot, "#address", address)  # type: ignore[arg-type]
    await pilot.press("enter")  # type: ignore[attr-defined]
    screen = app.screen
    assert isinstance(screen, NewProfileScreen)
    await wait_for(pilot, lambda: screen.found is not None, limit=20)  # type: ignore[arg-type]
    await pilot.pause()  # type: ignore[attr-defined]
    return screen


async def test_found_settings_fill_the_editor_with_their_origin(
    home: Path, plain_server: RunningServer, isp_server: RunningServer, web: WebServer
) -> None:
    isp_profile(home, plain_server)
    xml = config_xml([("localhost", isp_server.port, "plain")], authentication="none")
    web.pages[("autoconfig.example.org", "/mail/config-v1.1.xml")] = (200, {}, xml)
    app = MailtuiApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await find(app, pilot, "jane@example.org")
        found = screen_text(pilot, "#discovery-found")
        assert "from autoconfig.example.org over HTTPS, and tested" in found
        assert "is not in example.org" in found  # localhost: asked about
        use = screen.query_one("#use", Button)
        assert use.display and app.focused is use
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ProfileEditor))
        editor = app.screen
        assert editor.query_one("#f-host", Input).value == "localhost"
        assert editor.query_one("#f-id", Input).value == "example"
        assert "autoconfig.example.org over HTTPS" in screen_text(pilot, "#editor-found")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is app.main)
    written = (home / "profiles" / "example.toml").read_text()
    assert 'host = "localhost"' in written and 'provider = "isp"' in written


async def test_nothing_found_offers_the_empty_form_with_the_address(
    home: Path, plain_server: RunningServer, web: WebServer
) -> None:
    isp_profile(home, plain_server)
    app = MailtuiApp()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await find(app, pilot, "jane@example.org")
        assert "No settings were found for example.org" in screen_text(pilot, "#discovery-found")
        assert not screen.query_one("#use").display
        assert app.focused is screen.query_one("#empty")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ProfileEditor))
        assert app.screen.query_one("#f-from", Input).value == "jane@example.org"
