"""The app left open on its main screen does nothing visible while nothing changes: its timers
(network, outbox, autosave) look, and redraw only what changed (bench/idle.py measures the
CPU time; these count what costs it, with the timers' periods shortened)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from textual.screen import Screen
from textual.widgets import Footer

from tests.conftest import down_server, isp_profile, queue_while_down
from tests.core.test_network import HOME, OFFICE, MovableLocator
from tests.ui.conftest import screen_text, wait_for
from tui.core.message import Draft
from tui.demo.servers import ServerThread
from tui.ui.app import MailtuiApp

TICK = 0.02  # each timer's period in these tests (seconds)
IDLE = 1.0  # how long the app is watched: dozens of ticks of every timer


@pytest.fixture
def redraws(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Quick timers, and a count of the ticks and of the work that idle ticks must not
    cause: a layout of the whole screen, a refresh of the keys' bindings, the footer rebuilt."""
    import tui.ui.app as app_module

    for name in ("NETWORK_CHECK_SECONDS", "RETRY_CHECK_SECONDS", "AUTOSAVE_SECONDS"):
        monkeypatch.setattr(app_module, name, TICK)
    seen: Counter[str] = Counter()

    def counted(owner: type, name: str) -> None:
        original = getattr(owner, name)

        def wrapper(self: object, *args: object, **kwargs: object) -> object:
            seen[name] += 1
            return original(self, *args, **kwargs)

        monkeypatch.setattr(owner, name, wrapper)

    counted(Screen, "_refresh_layout")  # Textual's full layout pass
    counted(Screen, "refresh_bindings")
    counted(Footer, "recompose")
    counted(MailtuiApp, "retry_outbox")  # the timers' callbacks, to know that they ran
    counted(MailtuiApp, "watch_network")
    return seen


async def watch_idle(app: MailtuiApp, seen: Counter[str]) -> Counter[str]:
    """What the app did while nobody typed for IDLE seconds (after start-up settled)."""
    import asyncio

    await asyncio.sleep(0.3)
    seen.clear()
    await asyncio.sleep(IDLE)
    assert seen["retry_outbox"] >= 10 and seen["watch_network"] >= 10, seen  # the timers ran
    return Counter(seen)  # as it was then: closing the app refreshes its bindings


@pytest.mark.parametrize(
    ("queued", "size", "status"),
    [
        (False, (80, 24), "Outbox: empty"),
        (True, (160, 48), "Outbox: 1 waiting (F8)"),  # each retry tick finds it not due yet
    ],
)
async def test_an_idle_app_lays_nothing_out_again(
    home: Path,
    servers: ServerThread,
    redraws: Counter[str],
    queued: bool,
    size: tuple[int, int],
    status: str,
) -> None:
    if queued:
        await queue_while_down(home, servers, [Draft(to=("bob@example.org",), subject="Later")])
    else:
        isp_profile(home, down_server(servers))  # type: ignore[arg-type]
    isp_profile(home, down_server(servers), "work", name="Work")  # type: ignore[arg-type]
    app = MailtuiApp(locator=MovableLocator(HOME))
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        seen = await watch_idle(app, redraws)
        assert screen_text(pilot, "#outbox-status") == status
    assert seen["_refresh_layout"] == 0, seen
    assert seen["refresh_bindings"] == 0 and seen["recompose"] == 0, seen


async def test_the_timers_still_see_another_process_queue_and_a_new_network(
    home: Path, servers: ServerThread, redraws: Counter[str]
) -> None:
    """Quiet, not deaf: a message queued by `mailtui send` elsewhere shows in the outbox
    line, and a move to another network is offered, both found by the timers alone."""
    locator = MovableLocator(HOME)
    isp_profile(home, down_server(servers))  # type: ignore[arg-type]
    app = MailtuiApp(profile_id="isp", locator=locator)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert screen_text(pilot, "#outbox-status") == "Outbox: empty"
        await queue_while_down(home, servers, [Draft(to=("bob@example.org",), subject="Later")])
        await wait_for(pilot, lambda: "1 waiting" in screen_text(pilot, "#outbox-status"))
        locator.identity = OFFICE
        await wait_for(pilot, lambda: "network changed" in screen_text(pilot, "#explanation"))


async def test_the_cursor_rests_after_a_quiet_spell_and_blinks_at_the_next_key(
    home: Path, servers: ServerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As GTK's cursor-blink-timeout: a blink redraws the field and what lies around it twice
    a second, for hours on a laptop. Shown, not blinking, until the next key or click."""
    import tui.ui.resting_cursor as resting

    # Long enough that no check rests it again between a key and the look that follows
    # (0.2 s did, once, on a busy machine), short enough to wait for three times.
    monkeypatch.setattr(resting, "REST_AFTER_SECONDS", 1.0)
    isp_profile(home, down_server(servers))  # type: ignore[arg-type]
    app = MailtuiApp(locator=MovableLocator(HOME))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        to = app.focused
        assert to is not None and to.id == "to"
        await wait_for(pilot, lambda: not to.cursor_blink)  # type: ignore[attr-defined]
        await pilot.press("b")
        await pilot.pause()
        assert to.cursor_blink  # type: ignore[attr-defined]
        assert to.value == "b"  # type: ignore[attr-defined]  # the key itself went in as usual
        await wait_for(pilot, lambda: not to.cursor_blink)  # type: ignore[attr-defined]
        await pilot.press("tab")
        await wait_for(pilot, lambda: app.focused is not to and not app.focused.cursor_blink)  # type: ignore[union-attr]
        await pilot.click("#to")
        await pilot.pause()
        assert to.cursor_blink and app.focused is to  # type: ignore[attr-defined]
