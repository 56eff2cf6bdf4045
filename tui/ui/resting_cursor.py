"""The cursor stops blinking after a while without a key or a click, as GTK and GNOME
Terminal do (their cursor-blink-timeout, 10 s), and blinks again at the next one.

A blink redraws the field and what lies around it twice a second: on a laptop, with the app
open for hours, that is most of what the app costs while nobody types (bench/idle.py).
"""

from __future__ import annotations

import time
from typing import Any

from textual import events
from textual.app import App
from textual.widget import Widget

REST_AFTER_SECONDS = 10.0


class RestingCursor(App[int]):
    """An app whose text cursor rests (shown, not blinking) while nobody types or clicks."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._last_touch = time.monotonic()
        self._resting: list[Widget] = []  # the fields whose blinking this stopped

    def rest_cursor_when_idle(self) -> None:
        """Start looking for a quiet spell (once the first screen is up)."""
        self.set_interval(REST_AFTER_SECONDS / 2, self._rest_if_idle)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.Paste | events.MouseDown):
            self._last_touch = time.monotonic()
            self._wake()
        await super().on_event(event)

    def _rest_if_idle(self) -> None:
        if time.monotonic() - self._last_touch < REST_AFTER_SECONDS or self._resting:
            return
        focused = self.focused
        if focused is not None and getattr(focused, "cursor_blink", False):
            focused.cursor_blink = False  # type: ignore[attr-defined]
            self._resting.append(focused)

    def _wake(self) -> None:
        resting, self._resting = self._resting, []
        for widget in resting:
            if widget.is_attached:
                widget.cursor_blink = True  # type: ignore[attr-defined]
