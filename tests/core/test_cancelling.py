"""A send cancelled at any moment (Ctrl-C in `mailtui send`, Escape in the app) stops there.

Each test cancels one send per loop iteration after it starts, so that some cancellation
lands in the iteration where aiosmtplib's connection or a reply has just arrived: Python
3.11's `asyncio.wait_for` dropped those (tui/core/cancelling.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import isp_profile, write_profile
from tui.core import sending
from tui.core.cancelling import stop_if_cancelled
from tui.core.message import Draft
from tui.core.profiles import Profile, load_profile
from tui.demo.servers import RunningServer

DRAFT = Draft(to=("bob@example.org",), subject="Saturday", body="See you.\n")
PROMPTLY = 2.0  # seconds; the profiles wait 5 s for a server


@pytest.fixture
def silent_profile(home: Path) -> Iterator[Profile]:
    """A server that accepts the connection (the kernel does) and never greets."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(128)
        path = write_profile(
            home,
            "mute",
            name="Mute",
            **{"from": "jane@isp.example"},
            host="127.0.0.1",
            port=silent.getsockname()[1],
            security="none",
            timeout=5,
        )
        yield load_profile(path)


async def cancelled_after(profile: Profile, iterations: int) -> str:
    """Start a send, cancel it after `iterations` turns of the loop; how it ended."""
    task = asyncio.ensure_future(sending.send(profile, DRAFT, probe=()))
    for _ in range(iterations):
        await asyncio.sleep(0)
    if task.done():
        return "finished before the cancellation"
    task.cancel()
    await asyncio.wait({task}, timeout=PROMPTLY)
    if not task.done():
        task.cancel()
        await asyncio.wait({task})
        return f"still running {PROMPTLY:g} s after the cancellation"
    if not task.cancelled():
        return f"went on and returned {task.result().outcome}"
    return "cancelled"


async def test_a_send_waiting_for_a_greeting_stops_when_cancelled(
    silent_profile: Profile,
) -> None:
    endings = {k: await cancelled_after(silent_profile, k) for k in range(40)}
    assert {k: e for k, e in endings.items() if e != "cancelled"} == {}


async def test_a_send_cancelled_at_any_point_of_the_session_stops_there(
    home: Path, plain_server: RunningServer
) -> None:
    profile = load_profile(isp_profile(home, plain_server))
    endings: dict[int, str] = {}
    for k in range(2000):
        endings[k] = await cancelled_after(profile, k)
        if endings[k] == "finished before the cancellation":
            break
    *before, last = endings.values()
    assert len(before) > 20  # the sweep went through the whole session
    assert last == "finished before the cancellation"
    assert {k: e for k, e in enumerate(before) if e != "cancelled"} == {}


async def test_a_task_that_goes_on_after_a_cancellation_is_stopped_again() -> None:
    async def swallowing() -> str:
        # What 3.11's wait_for did when its operation had just finished:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(10)
        stop_if_cancelled()
        return "went on"

    task = asyncio.ensure_future(swallowing())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    stop_if_cancelled()  # and nothing happens in a task nobody cancelled
