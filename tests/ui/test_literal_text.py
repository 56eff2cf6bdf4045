"""The person's and the server's text is shown as typed, never read as Textual markup:
"[WIP] report" keeps its brackets, and "costs [/] half" never crashes a screen."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from textual.widget import Widget
from textual.widgets import Button, DataTable, Static

from tests.conftest import write_profile
from tui.core.drafts import Drafts
from tui.core.message import Draft, Prepared
from tui.core.network_history import TrustWarning
from tui.core.outbox import Outbox
from tui.ui.app import MailtuiApp
from tui.ui.screens.confirm import ConfirmScreen
from tui.ui.screens.network_warning import NetworkWarningScreen
from tui.ui.screens.outbox import OutboxScreen
from tui.ui.screens.password import PasswordScreen
from tui.ui.screens.restore import RestoreScreen

MARKUPISH = st.sampled_from(
    ["[", "]", "[/]", "[b]", "[/b]", "[bold red]", "[link='http://x']", "[@click=app.quit]", "\\"]
)
PLAIN = st.characters(exclude_categories=("Cc", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"))
# One line of a person's text: any characters and markup-like runs, single spaces.
TEXT = (
    st.lists(st.one_of(PLAIN, MARKUPISH, st.just(" ")), min_size=1, max_size=12)
    .map(lambda parts: " ".join("".join(parts).split()))
    .filter(bool)
)


def shown(widget: Widget) -> str:
    """What a widget puts on the screen, as plain text."""
    if isinstance(widget, DataTable):
        return "\n".join(
            str(getattr(cell, "plain", cell))
            for row in range(widget.row_count)
            for cell in widget.get_row_at(row)
        )
    if isinstance(widget, Button):
        return str(widget.label)
    if isinstance(widget, Static):  # Label and the notifications' Toast too
        return str(widget.render())
    return ""


def screen_shows(app: MailtuiApp) -> str:
    return "\n".join(shown(widget) for widget in app.screen.query("*"))


async def wait_until(pilot: object, condition: object) -> None:
    for _ in range(200):
        if condition():  # type: ignore[operator]
            return
        await pilot.pause(0.02)  # type: ignore[attr-defined]
    raise AssertionError("timed out waiting for the app")


async def sees(pilot: object, app: MailtuiApp, expected: str) -> None:
    """Wait for `expected` on the screen, literally (a crash on markup ends the app first)."""
    for _ in range(200):
        if expected in screen_shows(app):
            return
        await pilot.pause(0.02)  # type: ignore[attr-defined]
    raise AssertionError(f"{expected!r} not on the screen:\n{screen_shows(app)}")


async def every_screen(text: str, home: Path) -> None:
    write_profile(
        home,
        "isp",
        name=text,
        **{"from": "jane@isp.example"},
        host="127.0.0.1",
        port=9,
        security="none",
    )
    write_profile(
        home,
        "portal",
        name=f"{text} portal",
        **{"from": "jane@portal.example"},
        host="127.0.0.1",
        port=9,
        security="starttls",
        auth="plain",
        username=text,
    )
    Drafts().save(Draft(to=("bob@example.org",), subject=text), "isp", autosave=True)
    Outbox().queue(
        Prepared(
            "jane@isp.example",
            ("bob@example.org",),
            b"Subject: x\r\n\r\nx\r\n",
            False,
            "<x@isp.example>",
            subject=text,
        ),
        "isp",
    )
    app = MailtuiApp(profile_id="isp")
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        # The autosaved draft is offered back on start.
        await wait_until(pilot, lambda: isinstance(app.screen, RestoreScreen))
        await sees(pilot, app, f"Subject: {text}")
        await pilot.press("escape")
        portal = app.profile_set.get("portal")
        assert portal is not None
        for screen in (
            PasswordScreen(portal),
            NetworkWarningScreen(TrustWarning(f"outside the networks of {text}", portal)),
        ):
            app.push_screen(screen)
            await wait_until(pilot, lambda screen=screen: app.screen is screen)
            await sees(pilot, app, f"{text} portal")
            await pilot.press("escape")
        app.action_delete_profile()  # the question names the profile
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await sees(pilot, app, f"Delete profile {text} (isp)?")
        await pilot.press("escape")
        app.action_outbox()
        await wait_until(pilot, lambda: isinstance(app.screen, OutboxScreen))
        await sees(pilot, app, text)
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await sees(pilot, app, f"Delete '{text}' to bob@example.org?")
        await pilot.click("#yes")
        await sees(pilot, app, f"Deleted {text} from the outbox.")


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=TEXT)
@example(text="[WIP] report")
@example(text="costs [/] half")
@example(text="[bold]loud[/bold] [link='http://x']here[/link] ünï 😀")
def test_text_is_shown_as_typed_on_every_screen(text: str, home: Path) -> None:
    with tempfile.TemporaryDirectory(dir=home) as folder:
        previous = os.environ["MAILTUI_HOME"]
        os.environ["MAILTUI_HOME"] = folder
        try:
            asyncio.run(every_screen(text, Path(folder)))
        finally:
            os.environ["MAILTUI_HOME"] = previous


async def test_the_palette_shows_profile_names_as_typed(home: Path) -> None:
    from textual.command import CommandList

    write_profile(
        home,
        "isp",
        name="costs [/] half [WIP]",
        **{"from": "jane@isp.example"},
        host="127.0.0.1",
        port=9,
        security="none",
    )
    app = MailtuiApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        for query in ("", "Switch to profile: costs"):  # discovery, then a search
            await pilot.press(*query)
            expected = "Switch to profile: costs [/] half [WIP] (isp)"

            def listed(expected: str = expected) -> bool:
                commands = app.screen.query(CommandList)
                return bool(commands) and any(
                    expected in str(commands.first().get_option_at_index(i).prompt)
                    for i in range(commands.first().option_count)
                )

            await wait_until(pilot, listed)
