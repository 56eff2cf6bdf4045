"""The compose form warns next to From when the From domain's DMARC policy will get mail
sent through the active profile's server refused (a DNS server on loopback answers)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import DnsStarter, isp_profile, write_profile
from tests.ui.conftest import screen_text, wait_for
from tui.demo.servers import RunningServer
from tui.ui.app import MailtuiApp

YAHOO = {"_dmarc.yahoo.com": ["v=DMARC1; p=reject;"]}


def profiles(home: Path, server: RunningServer) -> None:
    isp_profile(home, server, **{"from": "Jane Doe <jane@yahoo.com>"})
    write_profile(
        home,
        "yahoo",
        name="Yahoo",
        provider="portal",
        host="smtp.mail.yahoo.com",  # never reached: the tests do not send with it
        security="tls",
        auth="plain",
        username="jane@yahoo.com",
        **{"from": "Jane Doe <jane@yahoo.com>"},
    )


def shown(app: MailtuiApp, selector: str) -> bool:
    return bool(app.main.query_one(selector).display) and app.main.query_one(selector).visible


async def test_warning_under_from_follows_the_active_profile(
    home: Path, plain_server: RunningServer, dns_server: DnsStarter
) -> None:
    profiles(home, plain_server)
    dns = dns_server(YAHOO)
    app = MailtuiApp(profile_id="isp")
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: "DMARC" in screen_text(pilot, "#from-warning"))
        text = screen_text(pilot, "#from-warning")
        assert text.startswith("⚠ yahoo.com publishes DMARC p=reject: mail From jane@yahoo.com")
        assert "Send with Yahoo (profile yahoo), which logs in to yahoo.com" in text
        assert shown(app, "#from-warning") and not shown(app, "#from-warning-short")
        assert app.focused is not None and app.focused.id == "to"  # nothing took the cursor
        await pilot.press("ctrl+t")  # to Yahoo: its own server, no warning
        await wait_for(pilot, lambda: app.active_id == "yahoo")
        await pilot.pause()
        assert not shown(app, "#from-warning")
        assert screen_text(pilot, "#from-warning") == ""
        await pilot.press("ctrl+t")  # back: the answer is remembered
        await wait_for(pilot, lambda: shown(app, "#from-warning"))
    assert dns.queries == ["_dmarc.yahoo.com"]


async def test_a_short_screen_shows_the_short_warning(
    home: Path, plain_server: RunningServer, dns_server: DnsStarter
) -> None:
    profiles(home, plain_server)
    dns_server(YAHOO)
    app = MailtuiApp(profile_id="isp")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: shown(app, "#from-warning-short"))
        assert not shown(app, "#from-warning")
        assert screen_text(pilot, "#from-warning-short") == (
            "⚠ DMARC p=reject at yahoo.com: recipients will probably refuse this From via "
            "127.0.0.1; Yahoo fits."
        )
        assert app.main.query_one("#body").region.height >= 3  # the body still has room
