"""Keys are handled in the order they were typed, each where the key before it left the cursor.

Textual hands a key to the widget that has the focus when the app takes the key from its
queue, and goes on to the next key at once. A key that moves the focus does so only once it
has been through the focused widget, up its parents and back to the app (Tab is bound on the
screen; `Widget.focus()` is applied by a callback on the app's queue). A burst of keys — a
fast typist, a paste, `tmux send-keys` — then hands the keys after a Tab to the field it left,
and the keys typed before the first screen put the cursor in To to no widget at all.

`KeysInOrder` holds each key (and paste) until the one before it has been handled all the
way, and everything typed before the app calls `take_keys()`. The one place that knows how
Textual hands keys over (`App.on_event`), with tests in tests/ui/test_keys_in_order.py.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

from textual import events
from textual.app import App
from textual.message_pump import MessagePump
from textual.screen import Screen
from textual.timer import Timer

# A key whose handling is stuck (a handler waiting on something) stops holding the keys
# typed after it after this long: late is better than never.
GIVE_UP_SECONDS = 1.0


class KeysInOrder(App[int]):
    """An app whose keys each land where the keys before them left the focus."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._typed: deque[events.Key | events.Paste] = deque()
        self._in_flight: events.Key | events.Paste | None = None
        self._in_flight_since = 0.0
        self._taking_keys = False
        self._unstick_timer: Timer | None = None

    def take_keys(self) -> None:
        """The first screen has put the cursor where typing belongs: hand it what was typed
        so far (after the focus changes already asked for), and from now on every key."""

        def start() -> None:
            self._taking_keys = True
            # It runs only while a key is being handled: an idle app has no tick to wake for.
            self._unstick_timer = self.set_interval(GIVE_UP_SECONDS / 2, self._unstick, pause=True)
            self._next_key()

        self._follow(None, [self.screen, self], self.screen, start)

    async def on_event(self, event: events.Event) -> None:
        if not isinstance(event, events.Key | events.Paste) or event.is_forwarded:
            await super().on_event(event)
            return
        self._typed.append(event)
        if self._taking_keys and self._in_flight is None and len(self._typed) == 1:
            await self._hand_over(self._typed.popleft())

    async def _hand_over(self, event: events.Key | events.Paste) -> None:
        if not self.screen_stack:  # the app is closing
            self._typed.clear()
            return
        screen = self.screen
        target = self.focused or screen
        self._in_flight, self._in_flight_since = event, time.monotonic()
        if self._unstick_timer is not None:
            self._unstick_timer.resume()
        await super().on_event(event)  # a priority binding, or to the focused widget
        # Handed to a widget, it goes up its parents to the app; taken by a binding, it is done.
        path: list[MessagePump] = list(target.ancestors_with_self) if event.is_forwarded else [self]
        self._follow(event, path, screen, self._key_done)

    def _follow(
        self,
        event: events.Key | events.Paste | None,
        path: list[MessagePump],
        screen: Screen[Any],
        then: Callable[[], None],
    ) -> None:
        """Go where the key goes: up from the widget it was handed to, to the app. Each of
        them handles its messages in order, so a callback posted to each in turn, once the
        one before has run, runs after the key has been handled there (and passed on to the
        parent if it bubbles). On the app it also runs after the callbacks the key's handlers
        posted (a `focus()`). A key that changed the screen waits for the new screen too
        (it puts its focus on its first field when it is shown)."""
        if event is not None:
            if event is not self._in_flight:
                return  # given up on
            if event._stop_propagation:  # handled here: no parent sees it, on to the app
                path = path[-1:]
        while path:
            node = path.pop(0)
            if node.call_later(self._follow, event, path, screen, then):
                return
        if self.screen is not screen:
            self._follow(event, [self.screen, self], self.screen, then)
            return
        then()

    def _key_done(self) -> None:
        self._in_flight = None
        if self._unstick_timer is not None:
            self._unstick_timer.pause()
        self._next_key()

    def _next_key(self) -> None:
        if self._typed and self._in_flight is None:
            self.call_next(self._hand_over, self._typed.popleft())

    def _unstick(self) -> None:
        if self._in_flight and time.monotonic() - self._in_flight_since > GIVE_UP_SECONDS:
            self._key_done()
