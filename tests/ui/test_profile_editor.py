"""The profile editor's form: errors under their own field, bad fields in red and focused,
provider choices that make sense, and the core's own messages for every field."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Select

from tests.conftest import isp_profile
from tests.ui.conftest import fill, open_empty_editor, screen_text, type_into, wait_for
from tui.demo.servers import RunningServer
from tui.ui.app import MailtuiApp
from tui.ui.screens.profile_editor import ProfileEditor


async def open_new_profile(app: MailtuiApp, pilot: object) -> ProfileEditor:
    await open_empty_editor(pilot)  # type: ignore[arg-type]
    editor = app.screen
    assert isinstance(editor, ProfileEditor)
    return editor


async def test_each_error_sits_directly_under_its_own_field(
    home: Path, plain_server: RunningServer
) -> None:
    isp_profile(home, plain_server)
    app = MailtuiApp()
    async with app.run_test(size=(160, 48)) as pilot:
        editor = await open_new_profile(app, pilot)
        await fill(pilot, "#f-id", "office")
        await pilot.press("ctrl+s")
        await pilot.pause()
        for key, following in (("name", "from"), ("from", "host"), ("host", "port")):
            field = editor.query_one(f"#f-{key}", Input).region
            error = editor.query_one(f"#e-{key}").region
            next_field = editor.query_one(f"#f-{following}", Input).region
            assert "is required" in screen_text(pilot, f"#e-{key}")  # type: ignore[arg-type]
            assert error.y == field.y + field.height, key  # the line right under the field
            assert next_field.y > error.y + error.height - 1, key  # and before the next one


async def test_bad_fields_turn_red_and_good_ones_do_not(
    home: Path, plain_server: RunningServer
) -> None:
    isp_profile(home, plain_server)
    app = MailtuiApp()
    async with app.run_test(size=(160, 48)) as pilot:
        editor = await open_new_profile(app, pilot)
        await fill(pilot, "#f-id", "office")
        await fill(pilot, "#f-name", "Office")
        await fill(pilot, "#f-from", "jane")
        await pilot.press("ctrl+s")
        await pilot.pause()
        bad = editor.query_one("#f-from", Input)
        missing = editor.query_one("#f-host", Input)
        good = editor.query_one("#f-name", Input)
        assert bad.has_class("-bad") and missing.has_class("-bad")
        assert not good.has_class("-bad")
        assert bad.styles.background != good.styles.background  # the CSS draws it in red
        assert bad.styles.background.r > bad.styles.background.g  # reddish
        await fill(pilot, "#f-from", "@office.example")  # now jane@office.example
        await pilot.pause()
        assert not bad.has_class("-bad")  # fixed: no longer red


async def test_a_failed_save_focuses_the_first_bad_field(
    home: Path, plain_server: RunningServer
) -> None:
    isp_profile(home, plain_server)
    app = MailtuiApp()
    async with app.run_test(size=(160, 48)) as pilot:
        editor = await open_new_profile(app, pilot)
        await fill(pilot, "#f-id", "office")
        await fill(pilot, "#f-name", "Office")
        await fill(pilot, "#f-port", "99999")  # bad, but after From and Server
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ProfileEditor)
        assert app.focused is editor.query_one("#f-from")


async def test_choosing_web_portal_asks_for_a_login(
    home: Path, plain_server: RunningServer
) -> None:
    isp_profile(home, plain_server)
    app = MailtuiApp()
    async with app.run_test(size=(160, 48)) as pilot:
        editor = await open_new_profile(app, pilot)
        security = editor.query_one("#f-security", Select)
        auth = editor.query_one("#f-auth", Select)
        security.value = "none"
        await pilot.pause()
        assert auth.value == "none"
        editor.query_one("#f-provider", Select).value = "portal"
        await pilot.pause()
        assert auth.value == "auto"
        assert security.value == "starttls"  # a password never goes out in plain text
        assert editor.query_one("#row-username").display  # the login fields show
        editor.query_one("#f-provider", Select).value = "isp"
        await pilot.pause()
        assert auth.value == "auto"  # left as the person has it


async def test_a_portal_profile_without_login_opens_as_it_is(
    home: Path, plain_server: RunningServer
) -> None:
    """The portal rule is for a choice made in the form, not for a file being opened."""
    isp_profile(home, plain_server, provider="portal")
    app = MailtuiApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, ProfileEditor))
        await pilot.pause()
        editor = app.screen
        assert editor.query_one("#f-provider", Select).value == "portal"
        assert editor.query_one("#f-auth", Select).value == "none"


async def test_an_ehlo_name_with_spaces_gets_the_core_message(
    home: Path, plain_server: RunningServer
) -> None:
    from tui.core.profiles import check_field

    isp_profile(home, plain_server)
    app = MailtuiApp()
    async with app.run_test(size=(160, 48)) as pilot:
        editor = await open_new_profile(app, pilot)
        await type_into(pilot, "#f-helo", "my laptop")
        expected = check_field("helo", "my laptop")
        assert expected is not None and "not a host name" in expected
        assert screen_text(pilot, "#e-helo") == expected
        assert editor.query_one("#f-helo", Input).has_class("-bad")


async def test_saving_keeps_the_keys_the_form_does_not_show(
    home: Path, plain_server: RunningServer
) -> None:
    """addresses, default and [imap] are not in the form: an edit keeps them, a duplicate keeps
    the addresses but not default = true (two defaults would stop `mailtui sendmail`)."""
    from tui.core.profiles import load_profile

    addresses = ["jane@isp.example", "*@example.org"]
    imap = {"host": "127.0.0.1", "port": 1993, "username": "jane", "copy": "always"}
    isp_profile(home, plain_server, addresses=addresses, default=True, imap=imap)
    app = MailtuiApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, ProfileEditor))
        app.screen.query_one("#f-name", Input).value = "Home ISP at home"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, ProfileEditor))
        edited = load_profile(home / "profiles" / "isp.toml")
        assert edited.name == "Home ISP at home"
        assert edited.addresses == tuple(addresses) and edited.default
        assert edited.imap is not None and (edited.imap.port, edited.imap.copy) == (1993, "always")
        app.action_duplicate_profile()
        await wait_for(pilot, lambda: isinstance(app.screen, ProfileEditor))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, ProfileEditor))
        copy = load_profile(home / "profiles" / "isp-copy.toml")
        assert copy.addresses == tuple(addresses) and not copy.default


async def test_a_provider_that_wants_an_app_password_is_named_with_its_page(
    home: Path, plain_server: RunningServer
) -> None:
    isp_profile(home, plain_server)  # not a first run: no welcome screen
    app = MailtuiApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await open_empty_editor(pilot)
        editor = app.screen
        hint = editor.query_one("#app-password-hint")
        assert not hint.display
        editor.query_one("#f-provider", Select).value = "portal"  # login: auto
        editor.query_one("#f-host", Input).value = "smtp.mail.yahoo.com"
        await pilot.pause()
        assert hint.display
        text = str(hint.render())
        assert "Yahoo Mail wants an app password here" in text
        assert "https://login.yahoo.com/account/security" in text
        editor.query_one("#f-host", Input).value = "smtp.isp.example"
        await pilot.pause()
        assert not hint.display
