"""The app, driven with Pilot against real loopback SMTP servers."""

from __future__ import annotations

import asyncio
import gc
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.command import CommandList, CommandPalette
from textual.widgets import Button, Label

from tests.conftest import Pki, isp_profile, portal_profile, write_profile
from tests.scripted_server import stall_after_greeting, start_scripted
from tests.ui.conftest import fill, open_empty_editor, screen_text, type_into, wait_for
from tui.core.history import list_attempts
from tui.core.profiles import load_profile
from tui.demo.servers import RunningServer, ServerSpec, ServerThread
from tui.ui.app import MailtuiApp
from tui.ui.screens.network_warning import NetworkWarningScreen
from tui.ui.widgets.transcript_pane import TranscriptPane


def transcript_text(app: MailtuiApp) -> str:
    log = app.pane.log_widget
    return "\n".join(line.text for line in log.lines)


async def test_focus_starts_in_to(home: Path, plain_server: RunningServer) -> None:
    isp_profile(home, plain_server)
    app = MailtuiApp()
    async with app.run_test(size=(160, 48)):
        assert app.focused is not None and app.focused.id == "to"


async def test_collection_paused_by_mailtui_resumes_at_the_first_screen(
    home: Path, plain_server: RunningServer
) -> None:
    isp_profile(home, plain_server)
    gc.disable()  # as `mailtui` leaves it while loading (tui/__main__.py)
    try:
        app = MailtuiApp()
        async with app.run_test(size=(160, 48)):
            assert gc.isenabled() and gc.get_freeze_count() > 0
    finally:
        gc.enable()


async def test_send_shows_250_and_adds_history(home: Path, plain_server: RunningServer) -> None:
    isp_profile(home, plain_server)
    app = MailtuiApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press(*"bob@example.org")
        await type_into(pilot, "#subject", "Hello")
        await fill(pilot, "#body", "Hi Bob")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not app.main.sending)
        text = transcript_text(app)
        assert "<- 250 2.0.0 Ok: queued" in text
        assert app.pane.state == "sent"
        assert screen_text(pilot, "#to") == ""  # the form cleared after success
        assert any("Sent to bob@example.org" in n.message for n in app._notifications)
    [attempt] = list_attempts()
    assert attempt.outcome == "sent" and attempt.subject == "Hello"
    assert plain_server.messages[0].rcpt_tos == ("bob@example.org",)


async def test_invalid_address_blocks_send_and_names_field(
    home: Path, plain_server: RunningServer
) -> None:
    isp_profile(home, plain_server)
    app = MailtuiApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press(*"bob@example.org")
        await type_into(pilot, "#cc", "carol@")
        assert "the Cc address 'carol@' does not end in a valid domain name" in screen_text(
            pilot, "#cc-error"
        )
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "Not sent: the Cc address" in screen_text(pilot, "#explanation")
        assert app.focused is not None and app.focused.id == "cc"
    assert plain_server.sink.connections == 0


async def test_new_profile_from_editor_is_saved_0600_and_reloads(
    home: Path, plain_server: RunningServer
) -> None:
    isp_profile(home, plain_server)
    app = MailtuiApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await open_empty_editor(pilot)
        await type_into(pilot, "#f-id", "office")
        await fill(pilot, "#f-name", "Office relay")
        await fill(pilot, "#f-from", "Jane <jane@office.example>")
        await fill(pilot, "#f-host", "127.0.0.1")
        await type_into(pilot, "#f-port", "2525")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is app.screen_stack[0]
        assert app.active_id == "office"
        assert app.profile_set.get("office") is not None
    path = home / "profiles" / "office.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    profile = load_profile(path)
    assert (
        profile.name == "Office relay" and profile.port == 2525 and profile.security == "starttls"
    )


async def test_editor_shows_errors_as_typed_and_refuses_to_save(
    home: Path, plain_server: RunningServer
) -> None:
    isp_profile(home, plain_server)
    app = MailtuiApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await open_empty_editor(pilot)
        await fill(pilot, "#f-id", "broken")
        await fill(pilot, "#f-name", "Broken")
        await type_into(pilot, "#f-from", "jane")
        assert "no @domain part" in screen_text(pilot, "#e-from")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is not app.screen_stack[0]  # still in the editor
    assert not (home / "profiles" / "broken.toml").exists()


async def test_switch_profile_from_palette_changes_from(
    home: Path, plain_server: RunningServer, portal_server: RunningServer, pki: Pki
) -> None:
    isp_profile(home, plain_server)
    portal_profile(home, portal_server, pki)
    app = MailtuiApp(profile_id="isp")
    async with app.run_test(size=(160, 48)) as pilot:
        assert "jane@isp.example" in screen_text(pilot, "#from")
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"Switch to profile: Web")
        # The palette searches in the background: Enter once the hit is listed (a busy
        # machine takes longer than any fixed pause).
        await wait_for(pilot, lambda: app.screen.query_one(CommandList).option_count > 0)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.active_id == "portal")
        assert "jane@portal.example" in screen_text(pilot, "#from")
        await pilot.press("ctrl+t")  # one key switches back
        await pilot.pause()
        assert app.active_id == "isp"


async def test_palette_offers_main_screen_actions_only_on_the_main_screen(
    home: Path, plain_server: RunningServer
) -> None:
    isp_profile(home, plain_server)
    app = MailtuiApp()
    async with app.run_test(size=(160, 48)) as pilot:
        titles = {command.title for command in app.get_system_commands(app.screen)}
        assert {"Delete profile", "Send message"} <= titles
        await pilot.press("f5")  # history, on top of the main screen
        await pilot.pause()
        titles = {command.title for command in app.get_system_commands(app.screen)}
        assert "Delete profile" not in titles and "Send message" not in titles
        assert "Quit" in titles  # Textual's own commands stay


async def test_stalled_send_can_be_cancelled_while_app_responds(
    home: Path, servers: ServerThread
) -> None:
    stalled = start_scripted(servers, stall_after_greeting)
    isp_profile(home, stalled, timeout=30)  # type: ignore[arg-type]
    app = MailtuiApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press(*"bob@example.org")
        await type_into(pilot, "#subject", "Stuck")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "EHLO" in transcript_text(app))
        assert app.main.sending
        await type_into(pilot, "#body", "still typing")  # the interface keeps responding
        assert "still typing" in app.form.draft().body
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.main.sending)
        assert app.pane.state == "cancelled"
        assert "cancelled" in transcript_text(app)
        assert app.form.draft().subject == "Stuck"  # the message is still in the form
        assert "Cancelled" in screen_text(pilot, "#explanation")
    assert list_attempts()[0].outcome == "cancelled"


async def test_demo_network_switch_gives_relay_explanation_and_retry(home: Path) -> None:
    from tui.demo.environment import DemoEnvironment

    demo = DemoEnvironment.start()
    try:
        app = MailtuiApp(demo)
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.press("f7")
            await pilot.pause()
            assert "another office" in screen_text(pilot, "#banner")
            await pilot.press(*"bob@example.org")
            await fill(pilot, "#subject", "From the road")
            await pilot.press("ctrl+s")
            # The ISP trusts 127.0.0.1 only: mailtui warns before sending from 127.0.0.2.
            await wait_for(pilot, lambda: isinstance(app.screen, NetworkWarningScreen))
            warning = str(app.screen.query(Label)[1].render())
            assert "outside the networks where Demo ISP is trusted" in warning
            assert "Demo Web Portal (profile portal) should work from here" in warning
            await pilot.press("tab", "enter")  # "Send anyway"
            await wait_for(pilot, lambda: not app.main.sending)
            explanation = screen_text(pilot, "#explanation")
            assert "refused to relay" in explanation
            assert "Retry with Demo Web Portal" in explanation
            assert "ctrl+r" in explanation
            first_id = app.main.last_result.message_id if app.main.last_result else None
            await pilot.press("ctrl+r")
            await wait_for(pilot, lambda: app.pane.state == "sent" and app.active_id == "portal")
            assert "~> AUTH PLAIN ********" in transcript_text(app)
            [received] = demo.portal.messages
            assert f"Message-ID: {first_id}".encode() in received.content  # the same message
            await pilot.press("f6")
            await pilot.pause()
            assert "From the road" in str(pilot.app.screen.query_one("#mailbox-message").render())
    finally:
        demo.close()


async def test_history_screen_lists_and_opens_transcript(
    home: Path, plain_server: RunningServer
) -> None:
    isp_profile(home, plain_server)
    app = MailtuiApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press(*"bob@example.org")
        await fill(pilot, "#subject", "Logged")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.pane.state == "sent")
        await pilot.press("f5")
        await pilot.pause()
        from textual.widgets import DataTable

        table = app.screen.query_one(DataTable)
        assert table.row_count == 1
        row = table.get_row_at(0)
        assert str(row[2]) == "sent" and "Logged" in str(row[5])
        await pilot.press("enter")
        await pilot.pause()
        pane = app.screen.query_one(TranscriptPane)
        assert "-> RCPT TO:<bob@example.org>" in "\n".join(
            line.text for line in pane.log_widget.lines
        )
        await pilot.press("escape", "escape")
        await pilot.pause()
        assert app.screen is app.screen_stack[0]


async def test_duplicate_then_delete_profile_with_confirmation(
    home: Path, plain_server: RunningServer
) -> None:
    isp_profile(home, plain_server)
    app = MailtuiApp()
    async with app.run_test(size=(160, 48)) as pilot:
        app.action_duplicate_profile()
        await pilot.pause()
        assert screen_text(pilot, "#f-id") == "isp-copy"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert (home / "profiles" / "isp-copy.toml").exists()
        assert app.active_id == "isp-copy"
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"Delete profile")
        await wait_for(pilot, lambda: app.screen.query_one(CommandList).option_count > 0)
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(app.screen.query("#no")))
        focused = app.focused
        assert focused is not None and focused.id == "no"  # Cancel, drawn as the default
        assert app.screen.query_one("#no", Button).variant == "primary"
        await pilot.press("enter")  # the confirmation starts on Cancel: Enter keeps the file
        await pilot.pause()
        assert (home / "profiles" / "isp-copy.toml").exists()
        app.action_delete_profile()
        await pilot.pause()
        await pilot.click("#yes")
        await pilot.pause()
        assert not (home / "profiles" / "isp-copy.toml").exists()
        assert app.profile_set.get("isp-copy") is None


async def test_broken_profile_is_listed_and_can_be_fixed(
    home: Path, plain_server: RunningServer
) -> None:
    isp_profile(home, plain_server)
    broken = home / "profiles" / "office.toml"
    broken.write_text(
        'name = "Office"\nhost = "smtp.office.example"\nsecurity = "none"\nfrom = "jane"\n'
    )
    app = MailtuiApp()
    async with app.run_test(size=(160, 48)) as pilot:
        assert [e.profile_id for e in app.profile_set.errors] == ["office"]
        listing = app.screen.query_one("#profiles")
        from textual.widgets import OptionList

        assert isinstance(listing, OptionList)
        listing.focus()
        listing.highlighted = 1
        await pilot.press("enter")
        await pilot.pause()
        from textual.widgets import TextArea

        editor = app.screen.query_one("#file-text", TextArea)
        assert "no @domain part" in screen_text(pilot, "#file-error")
        editor.load_text(broken.read_text().replace('"jane"', '"jane@office.example"'))
        await pilot.pause()
        assert "valid" in screen_text(pilot, "#file-error")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.profile_set.get("office") is not None
        assert app.profile_set.errors == ()


async def test_attach_by_typed_path_and_remove(
    home: Path, plain_server: RunningServer, tmp_path: Path
) -> None:
    isp_profile(home, plain_server)
    report = tmp_path / "report.pdf"
    report.write_bytes(b"%PDF-1.4" + bytes(2000))
    app = MailtuiApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("ctrl+f")
        await pilot.pause()
        await type_into(pilot, "#attach-path", str(report))
        await pilot.press("enter")
        await pilot.pause()
        assert app.form.attachments == [report]
        assert "report.pdf (2.0 KB)" in str(
            app.screen.query_one("#attachments").get_option_at_index(0).prompt
        )
        app.screen.query_one("#attachments").focus()
        await pilot.press("delete")
        await pilot.pause()
        assert app.form.attachments == []


async def test_network_change_suggests_what_worked_there(
    home: Path, plain_server: RunningServer, portal_server: RunningServer, pki: Pki
) -> None:
    from tests.core.test_network import HOME, OFFICE, MovableLocator
    from tui.core.network_history import NetworkHistory
    from tui.core.results import AttemptResult, ExitCode, Outcome

    isp_profile(home, plain_server)
    portal_profile(home, portal_server, pki)
    history = NetworkHistory()
    history.record(OFFICE, "portal", AttemptResult(Outcome.SENT, ExitCode.OK, ""))
    history.record(OFFICE, "isp", AttemptResult(Outcome.REFUSED, ExitCode.UNAVAILABLE, ""))
    locator = MovableLocator(HOME)
    app = MailtuiApp(profile_id="isp", locator=locator)
    async with app.run_test(size=(160, 48)) as pilot:
        listing = app.screen.query_one("#profiles")
        assert "not tried here" in str(listing.get_option_at_index(0).prompt.renderables[2])  # type: ignore[attr-defined]
        locator.identity = OFFICE  # carry the laptop to the office
        app.watch_network()
        await wait_for(pilot, lambda: "network changed" in screen_text(pilot, "#explanation"))
        explanation = screen_text(pilot, "#explanation")
        assert "10.20.0.0/16 via 10.20.0.1" in explanation
        assert "Web Portal worked last time here" in explanation
        rows = [str(listing.get_option_at_index(i).prompt.renderables[2]) for i in range(2)]  # type: ignore[attr-defined]
        assert "failed here" in rows[0] and "worked here" in rows[1]
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert app.active_id == "portal"
        assert "jane@portal.example" in screen_text(pilot, "#from")


async def test_success_offers_to_trust_the_network(home: Path, plain_server: RunningServer) -> None:
    isp_profile(home, plain_server, networks=["10.9.9.0/24"])
    app = MailtuiApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press(*"bob@example.org")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, NetworkWarningScreen))
        await pilot.press("enter")  # no other profile, so the first button is "Send anyway"
        await wait_for(pilot, lambda: not app.main.sending)
        assert app.pane.state == "sent"
        explanation = screen_text(pilot, "#explanation")
        # Loopback is a /8: only this address is offered, never the whole subnet.
        assert "worked from 127.0.0.1/32: press ctrl+n to add it" in explanation
        # It worked here: the next send goes without the warning, as the list says.
        await pilot.press(*"carol@example.org")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not app.main.sending)
        assert app.pane.state == "sent"
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert "Add it to the networks" in str(app.screen.query(Label)[0].render())
        focused = app.focused
        assert focused is not None and focused.id == "yes"
        assert app.screen.query_one("#yes", Button).variant == "primary"  # drawn as default
        await pilot.press("enter")  # does what the default says
        await pilot.pause()
        assert app.main.trust_offer is None
    assert load_profile(home / "profiles" / "isp.toml").networks == ("10.9.9.0/24", "127.0.0.1/32")


COMPOSE_AND_HANG = """
import asyncio, pathlib, sys
from tui.ui.app import MailtuiApp

async def main() -> None:
    app = MailtuiApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*"bob@example.org")
        app.form.query_one("#subject").value = "Unsaved work"
        app.form.query_one("#body").load_text("Three paragraphs I do not want to type again.")
        drafts = pathlib.Path(sys.argv[1]) / "drafts" / "new"
        while not (drafts.is_dir() and any(drafts.iterdir())):
            await pilot.pause(0.1)
        print("saved", flush=True)
        await asyncio.sleep(120)

asyncio.run(main())
"""


async def test_draft_survives_kill_9_and_is_restored(
    home: Path, plain_server: RunningServer
) -> None:
    import os
    import signal
    import sys

    from tests.conftest import REPO
    from tui.ui.screens.restore import RestoreScreen

    isp_profile(home, plain_server)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        COMPOSE_AND_HANG,
        str(home),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO,
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 30)
    assert line.strip() == b"saved"
    os.kill(process.pid, signal.SIGKILL)  # no clean shutdown, no save on quit
    await process.wait()

    app = MailtuiApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, RestoreScreen))
        assert "Unsaved work" in str(app.screen.query(Label)[1].render())
        await pilot.press("enter")  # Restore
        await pilot.pause()
        draft = app.form.draft()
        assert draft.to == ("bob@example.org",)
        assert draft.subject == "Unsaved work"
        assert draft.body == "Three paragraphs I do not want to type again."
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not app.main.sending)
        assert app.pane.state == "sent"
    # The server accepted it: the draft is gone, and the message is in sent/.
    assert not any((home / "drafts" / "new").iterdir())
    assert any((home / "sent" / "new").iterdir())


async def test_temporary_failure_goes_to_outbox_and_is_retried(
    home: Path, servers: ServerThread
) -> None:
    from tests.scripted_server import dialogue
    from tui.core.outbox import Outbox
    from tui.ui.screens.outbox import OutboxScreen

    server = start_scripted(
        servers, dialogue({"RCPT": ["451 4.7.1 Greylisted, try again", "250 2.1.5 Ok"]})
    )
    isp_profile(home, server)  # type: ignore[arg-type]
    app = MailtuiApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press(*"bob@example.org")
        await fill(pilot, "#subject", "Greylisted")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not app.main.sending)
        assert app.pane.state == "temporary"
        assert "kept in the outbox" in screen_text(pilot, "#explanation")
        assert app.form.is_empty  # the outbox has it; the form is free
        assert "Outbox: 1 waiting" in screen_text(pilot, "#outbox-status")
        await pilot.press("f8")
        await pilot.pause()
        assert isinstance(app.screen, OutboxScreen)
        await pilot.press("r")  # send now
        await wait_for(pilot, lambda: not Outbox().entries())
        await pilot.press("escape")
        await pilot.pause()
        assert "Outbox: empty" in screen_text(pilot, "#outbox-status")
    assert server.messages == 1


async def test_outbox_entry_can_be_edited_back_into_the_form(
    home: Path, servers: ServerThread, tmp_path: Path
) -> None:
    from tui.core import sending
    from tui.core.message import Draft
    from tui.core.outbox import Outbox
    from tui.core.profiles import load_profile as load

    running = servers.start(ServerSpec("isp"))
    port = running.port
    servers.stop(running)

    class Where:
        host = "127.0.0.1"

    Where.port = port  # type: ignore[attr-defined]
    profile = load(isp_profile(home, Where))  # type: ignore[arg-type]
    report = tmp_path / "report.pdf"
    report.write_bytes(b"%PDF-1.4 data")
    draft = Draft(
        to=("Bob <bob@example.org>",),
        bcc=("boss@example.org",),
        subject="Report",
        body="Attached.\n",
        attachments=(report,),
    )
    result = await sending.send(profile, draft, probe=())
    assert result.exit_code == 75
    app = MailtuiApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("f8")
        await pilot.pause()
        await pilot.press("e")
        await pilot.pause()
        back = app.form.draft()
        assert back.subject == "Report" and back.body == "Attached.\n"
        assert back.to == ("Bob <bob@example.org>",) and back.bcc == ("boss@example.org",)
        assert [p.read_bytes() for p in back.attachments] == [b"%PDF-1.4 data"]
    assert Outbox().entries() == []


class MemoryKeyring:
    """A keyring backend that keeps passwords in this process, like a desktop keyring would
    keep them in its own store: real keyring API calls, nothing written to disk."""

    def __init__(self) -> None:
        from keyring.backend import KeyringBackend

        class Backend(KeyringBackend):
            priority = 1  # type: ignore[assignment]

            def __init__(self) -> None:
                super().__init__()
                self.store: dict[tuple[str, str], str] = {}

            def get_password(self, service: str, username: str) -> str | None:
                return self.store.get((service, username))

            def set_password(self, service: str, username: str, password: str) -> None:
                self.store[(service, username)] = password

            def delete_password(self, service: str, username: str) -> None:
                self.store.pop((service, username), None)

        self.backend = Backend()


@pytest.fixture
def file_keyring() -> Iterator[None]:
    """A working system keyring for the test (the default here is the null one)."""
    import keyring

    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring().backend)
    yield
    keyring.set_keyring(previous)


async def test_editor_keeps_the_password_in_the_keyring(
    home: Path, portal_server: RunningServer, pki: Pki, file_keyring: None
) -> None:
    from tests.conftest import PASSWORD
    from tui.core.secrets import resolve_password

    portal_profile(home, portal_server, pki, password=None)
    app = MailtuiApp(profile_id="portal")
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        await fill(pilot, "#f-secret", PASSWORD)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is app.main
    text = (home / "profiles" / "portal.toml").read_text()
    assert "password" not in text  # the file holds no secret
    profile = load_profile(home / "profiles" / "portal.toml")
    assert resolve_password(profile) == PASSWORD


async def test_editor_says_when_there_is_no_keyring(
    home: Path, portal_server: RunningServer, pki: Pki
) -> None:
    portal_profile(home, portal_server, pki, password=None)  # the null keyring from conftest
    app = MailtuiApp(profile_id="portal")
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        await fill(pilot, "#f-secret", "hunter2")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is not app.main  # not saved: the person chooses another way
        error = screen_text(pilot, "#e-secret")
        assert "No usable system keyring" in error and "password command" in error


async def test_markup_and_escapes_in_replies_are_shown_literally(
    home: Path, servers: ServerThread
) -> None:
    from tests.scripted_server import dialogue

    reply = b"550 5.1.1 \x1b[2J[bold red]boom[/] [link=http://evil.example]click[/link] unknown\r\n"
    server = start_scripted(servers, dialogue({"RCPT": reply}))
    isp_profile(home, server)  # type: ignore[arg-type]
    app = MailtuiApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press(*"bob@example.org")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not app.main.sending)
        words = transcript_text(app).split()  # the pane wraps long lines at spaces
        for word in ("\\x1b[2J[bold", "red]boom[/]", "[link=http://evil.example]click[/link]"):
            assert word in words
        explanation = screen_text(pilot, "#explanation")
        assert "[bold red]boom[/]" in explanation and "\x1b" not in explanation


def test_a_queued_message_comes_back_with_its_bcc(home: Path) -> None:
    from tui.core.message import Draft, compose, prepare
    from tui.core.outbox import Outbox
    from tui.ui.screens.outbox import entry_as_draft

    typed = Draft(
        to=("Jim Bob <jimbob@example.org>",),
        cc=("ann@example.org",),
        bcc=("bob@example.org", "nn@example.org"),
        subject="Queued",
        body="Hello\n",
    )
    outbox = Outbox()
    claim = outbox.add(prepare(compose("jane@isp.example", typed)), "isp")
    back = entry_as_draft(outbox, claim.entry)
    claim.release()
    assert back.to == ("Jim Bob <jimbob@example.org>",) and back.cc == ("ann@example.org",)
    assert back.bcc == ("bob@example.org, nn@example.org",)  # not hidden inside jimbob or ann


async def test_a_terminal_closing_keeps_the_form_as_a_draft(
    home: Path, plain_server: RunningServer
) -> None:
    import os
    import signal

    isp_profile(home, plain_server)
    app = MailtuiApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press(*"bob@example.org")
        await type_into(pilot, "#subject", "Half written")
        # Only with the app's handler in place: SIGHUP's default would end the test run.
        assert signal.getsignal(signal.SIGHUP) is not signal.SIG_DFL
        os.kill(os.getpid(), signal.SIGHUP)
        drafts = home / "drafts" / "new"
        await wait_for(pilot, lambda: drafts.is_dir() and any(drafts.iterdir()))
        await wait_for(pilot, lambda: app.return_code is not None)  # and it is ending
    [draft] = drafts.iterdir()
    assert b"Half written" in draft.read_bytes()


def test_demo_folders_of_killed_demos_are_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import subprocess
    import sys
    import tempfile

    from tui.demo import environment

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    ).stdout.strip()
    folders = {name: tmp_path / f"mailtui-demo-{name}" for name in ("killed", "old", "new", "live")}
    for folder in folders.values():
        folder.mkdir()
    (folders["killed"] / "pid").write_text(gone)
    (folders["live"] / "pid").write_text(str(os.getpid()))
    os.utime(folders["old"], (0, 0))  # no pid file (an older mailtui), and long ago
    environment._remove_stale_homes()
    assert {name for name, folder in folders.items() if folder.exists()} == {"new", "live"}


async def test_a_queued_message_can_go_with_the_suggested_profile_at_once(
    home: Path, portal_server: RunningServer, pki: Pki
) -> None:
    import socket

    from tui.core.outbox import Outbox
    from tui.core.results import Outcome

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
        await fill(pilot, "#body", "Queued first")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not app.main.sending and app.main.last_result is not None)
        assert (
            app.main.last_result is not None and app.main.last_result.outcome is Outcome.TEMPORARY
        )
        assert len(Outbox().entries()) == 1
        assert app.main.suggestion is not None and app.main.suggestion.profile_id == "portal"
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.pane.state == "sent", limit=20)
        assert app.active_id == "portal"
    assert Outbox().entries() == []
    [received] = portal_server.messages
    assert b"Queued first" in received.content


async def test_escape_after_the_dot_is_unknown_and_the_form_is_cleared(
    home: Path, servers: ServerThread
) -> None:
    """Too late to cancel: the server has the whole message. It is not put back in the form
    (ctrl+s would send it a second time); the outbox keeps it as 'outcome unknown'."""
    from tests.scripted_server import dialogue
    from tui.core.outbox import Outbox

    server = start_scripted(servers, dialogue({"DATA_END": "stall"}))
    isp_profile(home, server, timeout=30)  # type: ignore[arg-type]
    app = MailtuiApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press(*"bob@example.org")
        await fill(pilot, "#subject", "Dotted")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: server.messages == 1)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.main.sending)
        assert app.form.is_empty
        assert "may or may not have been delivered" in screen_text(pilot, "#explanation")
        assert "1 needs you" in screen_text(pilot, "#outbox-status")
        [entry] = Outbox().entries()
        assert entry.state_label == "unknown"
        await pilot.press("ctrl+s")  # an empty form sends nothing
        await pilot.pause(0.3)
    assert server.messages == 1


async def test_a_check_during_a_send_does_not_cancel_it(home: Path, servers: ServerThread) -> None:
    from tests.scripted_server import dialogue
    from tui.core.outbox import Outbox

    server = start_scripted(servers, dialogue({"DATA_END": "stall"}))
    isp_profile(home, server, timeout=30)  # type: ignore[arg-type]
    app = MailtuiApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press(*"bob@example.org")
        await fill(pilot, "#subject", "Checked meanwhile")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: server.messages == 1)
        await pilot.press("f4")
        await pilot.pause(0.3)
        assert app.main.sending  # still waiting for its 250, not cancelled
        assert [e.state_label for e in Outbox().entries()] == ["sending"]
    assert server.messages == 1


async def test_the_retry_timer_never_cancels_a_retry_under_way(
    home: Path, servers: ServerThread
) -> None:
    from tests.scripted_server import dialogue
    from tui.core import sending
    from tui.core.message import Draft
    from tui.core.outbox import Outbox
    from tui.core.profiles import load_profile as load

    running = servers.start(ServerSpec("isp"))
    servers.stop(running)

    class Down:
        host = "127.0.0.1"
        port = running.port

    profile = load(isp_profile(home, Down))  # type: ignore[arg-type]
    draft = Draft(to=("bob@example.org",), subject="Retried", body="x\n")
    assert (await sending.send(profile, draft, probe=())).exit_code == 75
    slow = start_scripted(servers, dialogue({}, delay=1.0))  # the 250 takes a second
    isp_profile(home, slow, timeout=30)  # type: ignore[arg-type]
    app = MailtuiApp()
    async with app.run_test(size=(160, 48)) as pilot:
        app.action_retry_outbox_now()
        await wait_for(pilot, lambda: slow.messages == 1)
        for _tick in range(3):  # the 15-second timer firing again and again meanwhile
            app.retry_outbox()
            await pilot.pause(0.05)
        await wait_for(pilot, lambda: not Outbox().entries(), limit=15)
        await pilot.pause(0.5)
    assert slow.messages == 1


async def test_a_partly_sent_message_comes_back_for_the_rest_only(
    home: Path, servers: ServerThread
) -> None:
    """Bob has it already; editing it back from the outbox must not send it to him again."""
    from tests.conftest import down_server, isp_at
    from tests.scripted_server import dialogue
    from tui.core import sending
    from tui.core.message import Draft
    from tui.core.outbox import Outbox
    from tui.ui.screens.outbox import entry_as_draft

    profile = isp_at(home, down_server(servers))
    both = Draft(to=("Bob <bob@example.org>", "carol@example.org"), subject="Both", body="x\n")
    assert (await sending.send(profile, both, probe=())).exit_code == 75
    server = start_scripted(servers, dialogue({"RCPT carol@example.org": "550 5.1.1 unknown"}))
    await sending.flush(isp_at(home, server))
    [entry] = Outbox().entries()
    assert entry.state_label == "refused" and entry.delivered_to == ("bob@example.org",)
    back = entry_as_draft(Outbox(), entry)
    assert back.to == ("carol@example.org",) and back.cc == () and back.bcc == ()


async def test_at_80x24_a_ten_line_message_and_the_transcript_fit(
    home: Path, plain_server: RunningServer
) -> None:
    """At 80x24: one line per profile, empty Cc/Bcc rows give their room to the body, F9
    gives the body (with the cursor in it) or the transcript the whole screen."""
    isp_profile(home, plain_server)
    app = MailtuiApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        body = app.main.query_one("#body")
        assert not app.main.query_one("#row-cc").display  # hidden while empty
        assert body.size.height >= 4
        await pilot.press(*"bob@example.org")
        await pilot.press("tab")
        assert app.focused is not None and app.focused.id == "subject"  # not Cc
        await pilot.press("ctrl+b")
        assert app.main.query_one("#row-cc").display and app.focused.id == "cc"
        await fill(pilot, "#body", "".join(f"line {n}\n" for n in range(1, 11)))
        await pilot.press("f9")
        await pilot.pause()
        assert app.main.maximized is body and body.size.height >= 12
        await pilot.press("f9")
        await pilot.pause()
        assert app.main.maximized is None
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not app.main.sending)
        app.main.query_one("#to").focus()
        await pilot.press("f9")
        await pilot.pause()
        pane = app.main.query_one(TranscriptPane)
        assert app.main.maximized is pane and pane.size.height >= 20
        assert "250" in transcript_text(app)


async def test_drafts_kept_by_the_command_line_open_in_the_app(
    home: Path, plain_server: RunningServer
) -> None:
    from tui.core.drafts import Drafts
    from tui.core.message import Draft
    from tui.ui.screens.drafts import DraftsScreen

    isp_profile(home, plain_server)
    kept = Draft(to=("bob@example.org",), subject="[WIP] kept by send", body="Body\n")
    Drafts().save(kept, "isp")
    Drafts().save(Draft(subject="to delete"), None)
    app = MailtuiApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert isinstance(app.screen, DraftsScreen) and len(app.screen.saved) == 2
        gone = app.screen.saved.index(
            next(d for d in app.screen.saved if d.draft.subject == "to delete")
        )
        app.screen.query_one("#drafts-table").move_cursor(row=gone)  # type: ignore[attr-defined]
        await pilot.press("d")
        await pilot.pause()
        await pilot.click("#yes")
        await pilot.pause()
        assert [d.draft.subject for d in app.screen.saved] == ["[WIP] kept by send"]  # type: ignore[attr-defined]
        await pilot.press("enter")
        await pilot.pause()
        assert (
            app.form.draft().subject == "[WIP] kept by send" and app.form.draft().body == "Body\n"
        )
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not app.main.sending)
    assert Drafts().list() == []  # sent: the draft is gone
    assert len(plain_server.messages) == 1


async def test_a_first_run_without_profiles_welcomes_and_offers_a_profile(home: Path) -> None:
    from tui.ui.screens.new_profile import NewProfileScreen
    from tui.ui.screens.welcome import WelcomeScreen

    app = MailtuiApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen)
        assert "internet provider" in str(
            app.screen.query_one(".dialog").query("Label")[1].render()
        )
        await pilot.press("enter")  # the default button: create a profile
        await pilot.pause()
        assert isinstance(app.screen, NewProfileScreen)  # from an email address, or empty
    demo = MailtuiApp()
    async with demo.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.click("#demo")
        await pilot.pause()
    assert demo.start_demo


async def test_the_app_starts_on_the_profile_that_worked_here_and_lists_by_name(
    home: Path, plain_server: RunningServer, pki: Pki
) -> None:
    from tui.core import sending
    from tui.core.message import Draft

    isp_profile(home, plain_server, profile_id="z-isp", name="Zebra ISP")
    isp_profile(home, plain_server, profile_id="a-office", name="Alpha office")
    result = await sending.send(
        load_profile(home / "profiles" / "z-isp.toml"), Draft(to=("b@example.org",), subject="s")
    )
    assert result.exit_code == 0
    app = MailtuiApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        assert app.active_id == "z-isp"  # it worked on this network: neither first by id nor name
        assert [p.name for p in app.profile_set.profiles] == ["Alpha office", "Zebra ISP"]


async def test_new_message_keeps_the_form_in_drafts(
    home: Path, plain_server: RunningServer
) -> None:
    from tui.core.drafts import Drafts

    isp_profile(home, plain_server)
    app = MailtuiApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"bob@example.org")
        await fill(pilot, "#subject", "First thoughts")
        app.main.action_new_message()
        await pilot.pause()
        assert app.form.is_empty
        [kept] = Drafts().list()
        assert kept.draft.subject == "First thoughts" and not kept.autosave


def test_the_demo_mailbox_shows_a_message_as_a_person_reads_it(tmp_path: Path) -> None:
    from tui.core.message import Draft, compose, prepare
    from tui.ui.screens.mailbox import readable

    attachment = tmp_path / "Straße.pdf"
    attachment.write_bytes(b"%PDF" * 500)
    draft = Draft(
        to=("Jürgen <j@example.org>",),
        cc=("ann@example.org",),
        subject="Grüße aus München",
        body="Hallo Jürgen,\nbis bald.\n",
        attachments=(attachment,),
    )
    shown = readable(prepare(compose("Jane <jane@isp.example>", draft)).data)
    assert "Subject: Grüße aus München" in shown and "To: Jürgen <j@example.org>" in shown
    assert "Cc: ann@example.org" in shown and "Hallo Jürgen," in shown
    assert "[attachment: Straße.pdf, 2.0 KB]" in shown and "=?utf-8?" not in shown


async def test_the_attach_dialog_goes_up_a_folder_and_shows_its_keys(
    home: Path, plain_server: RunningServer, tmp_path: Path
) -> None:
    from textual.widgets import DirectoryTree, Footer

    from tui.ui.screens.attach import AttachScreen

    isp_profile(home, plain_server)
    inner = tmp_path / "inner"
    inner.mkdir()
    above = tmp_path.resolve()  # noqa: ASYNC240 - before the app starts
    app = MailtuiApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(AttachScreen(inner))
        await pilot.pause()
        assert isinstance(app.screen, AttachScreen)
        assert app.screen.query(Footer)  # its own keys (esc Cancel), not the main screen's
        await pilot.press("ctrl+u")
        await pilot.pause()
        assert Path(app.screen.query_one(DirectoryTree).path) == above
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, AttachScreen)


async def test_a_pasted_list_of_addresses_keeps_every_line(
    home: Path, plain_server: RunningServer
) -> None:
    from textual import events

    isp_profile(home, plain_server)
    app = MailtuiApp()
    async with app.run_test(size=(160, 48)) as pilot:
        to = app.main.query_one("#to")
        to.focus()
        to.post_message(
            events.Paste("ann@example.org\nBob <bob@example.org>,\n\ncarol@example.org\n")
        )
        await pilot.pause()
        assert app.form.draft().to == ("ann@example.org, Bob <bob@example.org>, carol@example.org",)
