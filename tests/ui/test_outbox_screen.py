"""The outbox screen and the main screen follow what the retry did in the background."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable

from tests.conftest import Pki, isp_profile, portal_profile, write_profile
from tests.scripted_server import dialogue, start_scripted
from tests.ui.conftest import fill, screen_text, type_into, wait_for
from tui.core.outbox import Outbox
from tui.demo.servers import RunningServer, ServerThread
from tui.ui.app import MailtuiApp
from tui.ui.screens.outbox import OutboxScreen


async def test_send_now_shows_the_new_try_and_error(home: Path, servers: ServerThread) -> None:
    server = start_scripted(
        servers,
        dialogue(
            {"RCPT": ["451 4.7.1 Greylisted, try again", "452 4.2.2 Mailbox full, try later"]}
        ),
    )
    isp_profile(home, server)  # type: ignore[arg-type]
    app = MailtuiApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press(*"bob@example.org")
        await fill(pilot, "#subject", "Greylisted")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not app.main.sending and app.main.last_result is not None)
        await pilot.press("f8")
        await wait_for(pilot, lambda: isinstance(app.screen, OutboxScreen))
        table = app.screen.query_one(DataTable)
        assert str(table.get_row_at(0)[4]) == "1"  # tries
        assert "Greylisted" in screen_text(pilot, "#outbox-detail")
        await pilot.press("r")  # send now: refused for now again, with another reason
        await wait_for(pilot, lambda: str(table.get_row_at(0)[4]) == "2")
        assert "Mailbox full" in screen_text(pilot, "#outbox-detail")
        assert "Greylisted" not in screen_text(pilot, "#outbox-detail")


async def test_the_offer_to_send_a_queued_message_goes_when_the_retry_sent_it(
    home: Path, plain_server: RunningServer, portal_server: RunningServer, pki: Pki
) -> None:
    import socket

    with socket.socket() as closed:  # a port nothing listens on: the ISP's server is down
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    write_profile(
        home,
        "isp",
        name="Home ISP",
        **{"from": "jane@isp.example"},
        host="127.0.0.1",
        port=port,
        security="none",
        timeout=5,
    )
    portal_profile(home, portal_server, pki)
    app = MailtuiApp(profile_id="isp")
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press(*"bob@example.org")
        await type_into(pilot, "#subject", "Down")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not app.main.sending and app.main.last_result is not None)
        assert "Press ctrl+r to send it with Web Portal now" in screen_text(pilot, "#explanation")
        # The ISP's server is back; the outbox's own retry sends the message meanwhile.
        isp_profile(home, plain_server)
        app.reload_profiles()
        app.action_retry_outbox_now()
        await wait_for(pilot, lambda: not Outbox().entries())
        await wait_for(pilot, lambda: "ctrl+r" not in screen_text(pilot, "#explanation"))
        assert app.main.suggestion is None
        assert not app.main.check_action("retry", ())
    assert len(plain_server.messages) == 1 and not portal_server.messages
