"""The profile editor's IMAP section: the `[imap]` table as fields, checked as typed, and
"Check IMAP", which logs in (Dovecot from tests/interop, or the scripted server) and names
the Sent folder it found, or the problem in one sentence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, Select

from tests.conftest import PASSWORD, USER, Pki, isp_profile, portal_profile
from tests.interop.test_imap import imap_profile, require_dovecot
from tests.scripted_imap import ScriptedImap, start_imap
from tests.ui.conftest import fill, screen_text, wait_for
from tui.core.profiles import load_profile
from tui.demo.servers import RunningServer
from tui.ui.app import MailtuiApp
from tui.ui.screens.profile_editor import ProfileEditor

PIN = "sha256:" + ":".join(["AB"] * 32)


async def open_editor(app: MailtuiApp, pilot: Any) -> ProfileEditor:
    await pilot.press("f2")
    await wait_for(pilot, lambda: isinstance(app.screen, ProfileEditor))
    await pilot.pause()
    editor = app.screen
    assert isinstance(editor, ProfileEditor)
    return editor


async def check_imap(pilot: Any, editor: ProfileEditor) -> str:
    """Press Check IMAP's key and wait for its sentence beside the button."""
    await pilot.press("f5")
    await wait_for(
        pilot, lambda: screen_text(pilot, "#imap-result") not in ("", "checking…"), limit=30
    )
    return screen_text(pilot, "#imap-result")


async def test_the_imap_table_round_trips_through_edit_and_save(
    home: Path, plain_server: RunningServer, pki: Pki
) -> None:
    """Every key of [imap] shows in its field or is kept from the file (the password
    command, CA file and pin the form does not show); an edit changes only what was edited."""
    imap = {
        "host": "imap.isp.example",
        "port": 1993,
        "security": "starttls",
        "username": "jane",
        "password_command": "pass show imap",
        "folder": "Sent Items",
        "copy": "always",
        "ca_file": str(pki.ca_file),
        "tls_fingerprint": PIN,
    }
    isp_profile(home, plain_server, imap=imap)
    app = MailtuiApp()
    async with app.run_test(size=(160, 48)) as pilot:
        editor = await open_editor(app, pilot)
        shown = {
            key: editor.query_one(f"#f-imap-{key}", Input).value
            for key in ("host", "port", "username", "folder")
        }
        assert shown == {
            "host": "imap.isp.example",
            "port": "1993",
            "username": "jane",
            "folder": "Sent Items",
        }
        assert editor.query_one("#f-imap-security", Select).value == "starttls"
        assert editor.query_one("#f-imap-copy", Select).value == "always"
        editor.query_one("#f-imap-folder", Input).value = "Sent"
        editor.query_one("#f-imap-copy", Select).value = "auto"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, ProfileEditor))
    saved = load_profile(home / "profiles" / "isp.toml").imap
    assert saved is not None
    assert saved._asdict() == {**imap, "folder": "Sent", "copy": "auto"}


async def test_an_empty_imap_server_means_no_imap_table(
    home: Path, plain_server: RunningServer
) -> None:
    isp_profile(home, plain_server, imap={"host": "imap.isp.example", "username": "jane"})
    app = MailtuiApp()
    async with app.run_test(size=(160, 48)) as pilot:
        editor = await open_editor(app, pilot)
        assert editor.query_one("#row-imap-folder").display
        editor.query_one("#f-imap-host", Input).value = ""
        await pilot.pause()
        assert not editor.query_one("#row-imap-folder").display  # the rest of the table hides
        assert not editor.query_one("#imap-check-row").display
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, ProfileEditor))
    assert load_profile(home / "profiles" / "isp.toml").imap is None
    assert "[imap]" not in (home / "profiles" / "isp.toml").read_text()


async def test_a_new_profile_gets_an_imap_table_from_the_fields(
    home: Path, plain_server: RunningServer
) -> None:
    isp_profile(home, plain_server)
    app = MailtuiApp()
    async with app.run_test(size=(160, 48)) as pilot:
        editor = await open_editor(app, pilot)
        assert not editor.query_one("#row-imap-port").display  # no server: nothing else asked
        await fill(pilot, "#f-imap-host", "imap.isp.example")
        assert editor.query_one("#row-imap-port").display
        assert editor.query_one("#f-imap-port", Input).placeholder == "993 (default)"
        editor.query_one("#f-imap-security", Select).value = "starttls"
        await pilot.pause()
        assert editor.query_one("#f-imap-port", Input).placeholder == "143 (default)"
        await fill(pilot, "#f-imap-username", "jane")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, ProfileEditor))
    saved = load_profile(home / "profiles" / "isp.toml").imap
    assert saved is not None
    assert (saved.host, saved.security, saved.port, saved.username, saved.copy) == (
        "imap.isp.example",
        "starttls",
        None,
        "jane",
        "auto",
    )


@pytest.mark.parametrize(
    ("key", "typed", "expected"),
    [
        ("port", "99999", "must be a whole number from 1 to 65535"),
        ("host", "imap server", "is not a valid host name or IP address"),
    ],
)
async def test_a_bad_imap_value_is_shown_under_its_own_field(
    home: Path, plain_server: RunningServer, key: str, typed: str, expected: str
) -> None:
    from tui.core.profiles import check_field

    isp_profile(home, plain_server, imap={"host": "imap.isp.example", "username": "jane"})
    app = MailtuiApp()
    async with app.run_test(size=(160, 48)) as pilot:
        editor = await open_editor(app, pilot)
        field = editor.query_one(f"#f-imap-{key}", Input)
        field.value = typed
        await pilot.pause()
        problem = check_field(f"imap.{key}", int(typed) if typed.isdigit() else typed)
        assert problem is not None and expected in problem  # the core's own words
        assert screen_text(pilot, f"#e-imap-{key}") == problem
        assert field.has_class("-bad")
        error = editor.query_one(f"#e-imap-{key}").region
        assert error.y == field.region.y + field.region.height  # right under its field
        assert not editor.query_one("#f-host", Input).has_class("-bad")


async def test_a_missing_imap_username_is_shown_under_it_on_save(
    home: Path, plain_server: RunningServer
) -> None:
    """An ISP profile has no SMTP username for IMAP to share: saving asks for one, under the
    IMAP username field, and focuses it."""
    isp_profile(home, plain_server)
    app = MailtuiApp()
    async with app.run_test(size=(160, 48)) as pilot:
        editor = await open_editor(app, pilot)
        await fill(pilot, "#f-imap-host", "imap.isp.example")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ProfileEditor)
        assert "no SMTP username" in screen_text(pilot, "#e-imap-username")
        assert app.focused is editor.query_one("#f-imap-username")


async def test_check_imap_names_the_sent_folder_dovecot_has(home: Path) -> None:
    dv = require_dovecot()
    imap_profile(home, dv, dv.sent_user)
    app = MailtuiApp(profile_id=f"imap-{dv.sent_user}")
    async with app.run_test(size=(80, 24)) as pilot:
        editor = await open_editor(app, pilot)
        assert await check_imap(pilot, editor) == "Sent folder: Sent"
        assert editor.query_one("#imap-result").has_class("-good")
        transcript = screen_text(pilot, "#editor-transcript RichLog").replace("\n", "")
        assert "IMAP" in transcript and "LOGIN" in transcript
        assert dv.password not in transcript
        assert "the Sent folder is Sent (found on the server)" in transcript


async def test_check_imap_over_starttls_finds_sent_items(home: Path) -> None:
    dv = require_dovecot()
    imap_profile(home, dv, dv.items_user, security="starttls")
    app = MailtuiApp(profile_id=f"imap-{dv.items_user}")
    async with app.run_test(size=(160, 48)) as pilot:
        editor = await open_editor(app, pilot)
        assert await check_imap(pilot, editor) == "Sent folder: Sent Items"


async def test_check_imap_says_a_wrong_password_in_one_sentence(home: Path) -> None:
    dv = require_dovecot()
    imap_profile(home, dv, dv.sent_user, password_command="echo not-the-password")
    app = MailtuiApp(profile_id=f"imap-{dv.sent_user}")
    async with app.run_test(size=(160, 48)) as pilot:
        editor = await open_editor(app, pilot)
        sentence = await check_imap(pilot, editor)
        assert "refused" in sentence and "password" in sentence, sentence
        assert sentence.count(". ") == 0  # one sentence
        assert editor.query_one("#imap-result").has_class("-bad")
        assert "not-the-password" not in screen_text(pilot, "#editor-transcript RichLog")


async def test_check_imap_uses_the_password_typed_in_the_form(
    home: Path, plain_server: RunningServer, pki: Pki, servers: Any
) -> None:
    """Server-free: the scripted IMAP server, and the SMTP password typed (not yet saved)
    that the IMAP login shares."""
    imap = start_imap(servers, ScriptedImap(pki.server_context, {USER: PASSWORD}))
    table = {"host": imap.host, "port": imap.port, "ca_file": str(pki.ca_file)}
    portal_profile(home, plain_server, pki, password=None, imap=table)  # no password saved
    app = MailtuiApp(profile_id="portal")
    async with app.run_test(size=(160, 48)) as pilot:
        editor = await open_editor(app, pilot)
        editor.query_one("#f-secret", Input).value = PASSWORD
        await pilot.pause()
        assert await check_imap(pilot, editor) == "Sent folder: Sent"
        assert imap.logins == 1
        assert PASSWORD not in screen_text(pilot, "#editor-transcript RichLog")
