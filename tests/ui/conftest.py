"""Helpers for driving the app with Pilot, as a person at the keyboard would."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from textual.pilot import Pilot
from textual.widgets import Input, RichLog, Static


async def wait_for(
    pilot: Pilot[object], condition: Callable[[], bool], limit: float = 10.0
) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(0.05)
        await asyncio.sleep(0)


def screen_text(pilot: Pilot[object], selector: str) -> str:
    widget = pilot.app.screen.query_one(selector)
    if isinstance(widget, RichLog):
        return "\n".join(line.text for line in widget.lines)
    if isinstance(widget, Input):
        return widget.value
    assert isinstance(widget, Static)
    return str(widget.render())


async def type_into(pilot: Pilot[object], selector: str, text: str) -> None:
    """Focus a field and type into it key by key, as a person would."""
    pilot.app.screen.query_one(selector).focus()
    await pilot.pause()
    await pilot.press(*list(text))


async def fill(pilot: Pilot[object], selector: str, text: str) -> None:
    """Focus a field and paste `text` into it (one change event, like a paste)."""
    widget = pilot.app.screen.query_one(selector)
    widget.focus()
    if isinstance(widget, Input):
        widget.insert_text_at_cursor(text)
    else:
        from textual.widgets import TextArea

        assert isinstance(widget, TextArea)
        widget.insert(text)
    await pilot.pause()


async def open_empty_editor(pilot: Pilot[object]) -> None:
    """F3, then Enter with no address: the profile editor with an empty form."""
    from tui.ui.screens.new_profile import NewProfileScreen
    from tui.ui.screens.profile_editor import ProfileEditor

    await pilot.press("f3")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, NewProfileScreen))
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ProfileEditor))
    await pilot.pause()
