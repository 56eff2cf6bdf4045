"""Keys typed in one burst (a fast typist, `tmux send-keys`) land where they were typed.

The bursts are posted to the app all at once, as the terminal driver does with a burst it
reads in one go; `pilot.press` waits for the app between keys and would hide the problem.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

from textual import events
from textual.app import App
from textual.css.query import NoMatches
from textual.pilot import Pilot
from textual.widgets import Input, Select, TextArea

from tests.conftest import isp_profile
from tests.ui.conftest import open_empty_editor, wait_for
from tui.demo.servers import RunningServer
from tui.ui.app import MailtuiApp

KEY_NAMES = {"tab", "shift+tab", "escape", "f3"}


def burst(app: App[object], *parts: str) -> int:
    """Post every key of `parts` to the app at once: a word is typed character by character,
    a key name ("tab") is pressed. Returns how many characters were typed."""
    typed = 0
    for part in parts:
        if part in KEY_NAMES:
            app.post_message(events.Key(part, None))
            continue
        for char in part:
            name = char if char.isalnum() else unicodedata.name(char).lower().replace(" ", "_")
            app.post_message(events.Key(name, char))
            typed += 1
    return typed


def compose_fields(app: MailtuiApp) -> dict[str, str]:
    fields = {f: app.form.query_one(f"#{f}", Input).value for f in ("to", "cc", "bcc", "subject")}
    return {**fields, "body": app.form.query_one("#body", TextArea).text}


COMPOSE_BURST = (
    "bob@example.org",
    "tab",
    "carol@example.org",
    "tab",
    "tab",
    "Lunch on Friday?",
    "tab",
    "See you at noon.",
)
COMPOSE_EXPECTED = {
    "to": "bob@example.org",
    "cc": "carol@example.org",
    "bcc": "",
    "subject": "Lunch on Friday?",
    "body": "See you at noon.",
}


async def test_a_burst_in_the_compose_form_lands_field_by_field(
    home: Path, plain_server: RunningServer
) -> None:
    isp_profile(home, plain_server)
    app = MailtuiApp()
    async with app.run_test(size=(160, 48)) as pilot:
        typed = burst(app, *COMPOSE_BURST)
        await wait_for(pilot, lambda: sum(map(len, compose_fields(app).values())) >= typed)
        await pilot.pause()
        assert compose_fields(app) == COMPOSE_EXPECTED


async def test_keys_typed_before_the_first_screen_is_up_go_to_to(
    home: Path, plain_server: RunningServer
) -> None:
    """As when `mailtui` is started and typed into at once (the snapshots once lost the b)."""
    isp_profile(home, plain_server)
    seen: dict[str, str] = {}

    async def type_at_once(pilot: Pilot[object]) -> None:
        app = pilot.app
        assert isinstance(app, MailtuiApp)
        typed = burst(app, *COMPOSE_BURST)  # before the main screen has put the cursor in To

        def landed() -> int:
            try:
                return sum(map(len, compose_fields(app).values()))
            except (IndexError, NoMatches):  # no main screen yet, or no form on it yet
                return 0

        await wait_for(pilot, lambda: landed() >= typed)
        await pilot.pause()
        seen.update(compose_fields(app))
        app.exit()

    await MailtuiApp().run_async(headless=True, size=(160, 48), auto_pilot=type_at_once)
    assert seen == COMPOSE_EXPECTED


async def test_a_burst_in_the_profile_editor_lands_field_by_field(
    home: Path, plain_server: RunningServer
) -> None:
    """Each keystroke there revalidates the whole form: slow keys, and a Tab behind them."""
    isp_profile(home, plain_server)
    app = MailtuiApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await open_empty_editor(pilot)
        editor = app.screen
        typed = burst(
            app,
            "office",
            *["tab"] * 4,  # past provider, security and auth
            "Office relay",
            "tab",
            "Jane <jane@office.example>",
            "tab",
            "127.0.0.1",
            "tab",
            "2525",
        )

        def values() -> dict[str, str]:
            return {
                (i.id or "").removeprefix("f-"): i.value for i in editor.query(Input) if i.value
            }

        await wait_for(pilot, lambda: sum(map(len, values().values())) >= typed)
        await pilot.pause()
        assert values() == {
            "id": "office",
            "name": "Office relay",
            "from": "Jane <jane@office.example>",
            "host": "127.0.0.1",
            "port": "2525",
        }
        choices = {k: editor.query_one(f"#f-{k}", Select).value for k in ("provider", "auth")}
        assert choices == {"provider": "isp", "auth": "none"}
        assert app.focused is editor.query_one("#f-port")


async def test_keys_after_one_that_closes_a_screen_land_on_the_screen_below(
    home: Path, plain_server: RunningServer
) -> None:
    isp_profile(home, plain_server)
    app = MailtuiApp()
    async with app.run_test(size=(160, 48)) as pilot:
        burst(app, "f3", "office", "escape", "bob@example.org")
        await wait_for(pilot, lambda: bool(compose_fields(app)["to"]))
        await pilot.pause()
        assert app.screen is app.main
        assert compose_fields(app)["to"] == "bob@example.org"


def test_textual_still_marks_a_stopped_key() -> None:
    """tui/ui/keys_in_order.py reads this to know that no parent will see the key."""
    key = events.Key("a", "a")
    assert key._stop_propagation is False
    key.stop()
    assert key._stop_propagation is True
