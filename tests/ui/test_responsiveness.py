"""The interface never waits for the disk, a big message or a name lookup: a heartbeat on
the event loop measures the longest stall during a send, an outbox edit and an autosave."""

from __future__ import annotations

import asyncio
import filecmp
import ipaddress
import os
import time
from pathlib import Path

import pytest

from tests.conftest import isp_profile, queue_while_down
from tests.ui.conftest import fill, wait_for
from tui.core.message import Draft
from tui.core.network import Locator
from tui.core.outbox import Outbox
from tui.core.profiles import Profile
from tui.demo.servers import RunningServer, ServerThread
from tui.ui.app import MailtuiApp
from tui.ui.screens.outbox import OutboxScreen

LIMIT = 0.100  # seconds: a stall a person notices


class Heartbeat:
    """A task on the loop that wakes every 10 ms and keeps the longest gap between wakeups."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _beat(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            self.worst = max(self.worst, now - last)
            last = now

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._beat())

    def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()

    def reset(self) -> None:
        self.worst = 0.0


class SlowNameLookup(Locator):
    """Finding the local address toward a server named by a host name takes a lookup; here
    a slow one (as a DNS server that answers late), so that one on the loop shows."""

    def local_address(self, profile: Profile) -> str | None:
        try:
            ipaddress.ip_address(profile.host)
        except ValueError:
            time.sleep(0.25)
        return super().local_address(profile)


async def worst_gaps(
    home: Path, plain_server: RunningServer, servers: ServerThread, big: Path
) -> dict[str, float]:
    """The longest stall of the app's loop (seconds) in each of: a send, an outbox edit of a
    message with a 10 MB attachment, and an autosave."""
    await queue_while_down(
        home, servers, [Draft(to=("bob@example.org",), subject="Scan", attachments=(big,))]
    )
    # The ISP profile by host name (loopback: /etc/hosts), so the trust hint needs a lookup.
    isp_profile(home, plain_server, host="localhost")
    app = MailtuiApp(profile_id="isp", locator=SlowNameLookup())
    heartbeat = Heartbeat()
    worst: dict[str, float] = {}
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        heartbeat.start()

        await pilot.press(*"bob@example.org")
        heartbeat.reset()
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not app.main.sending and app.main.last_result is not None)
        worst["send"] = heartbeat.worst
        assert app.pane.state == "sent"

        await pilot.press("f8")
        await wait_for(pilot, lambda: isinstance(app.screen, OutboxScreen))
        await pilot.pause(0.1)
        heartbeat.reset()
        await pilot.press("e")
        await wait_for(pilot, lambda: bool(app.form.draft().attachments), limit=20)
        worst["outbox edit"] = heartbeat.worst
        draft = app.form.draft()
        assert draft.subject == "Scan" and not Outbox().entries()
        assert filecmp.cmp(draft.attachments[0], big, shallow=False)

        await fill(pilot, "#body", "Here is the scan.")
        heartbeat.reset()
        app.keeper.autosave()
        await wait_for(pilot, lambda: app.keeper.draft_id is not None)
        await pilot.pause(0.05)
        worst["autosave"] = heartbeat.worst
        heartbeat.stop()
    assert any((home / "drafts" / "new").iterdir())
    return worst


async def test_send_outbox_edit_and_autosave_never_stall_the_app(
    home: Path,
    plain_server: RunningServer,
    servers: ServerThread,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    big = tmp_path / "scan.pdf"
    big.write_bytes(os.urandom(10 * 1024 * 1024))  # ~10 MB: 13.5 MB once in base64
    seen = []
    # Other processes on a busy machine can delay one wakeup: a stall counts when it comes
    # back on a second run. Code that blocks (a sleep, an fsync, a parse) stalls every time.
    for run in (1, 2):
        folder = home / f"run-{run}"
        folder.mkdir()
        monkeypatch.setenv("MAILTUI_HOME", str(folder))
        worst = await worst_gaps(folder, plain_server, servers, big)
        stalls = {phase: f"{gap * 1000:.0f} ms" for phase, gap in worst.items() if gap > LIMIT}
        if not stalls:
            return
        seen.append(stalls)
    pytest.fail(f"the app stalled for over {LIMIT * 1000:.0f} ms, twice: {seen}")


def test_a_queued_message_with_big_and_small_attachments_comes_back_whole(
    home: Path, tmp_path: Path
) -> None:
    """Big parts are set aside and decoded a slice at a time: the same bytes come back."""
    from tui.core.message import compose, prepare
    from tui.ui.screens.outbox import entry_as_draft

    files = {
        "photo.jpg": os.urandom(3 * 1024 * 1024 + 7),  # not a whole number of groups
        "notes.txt": b"small\n",
        "table.bin": os.urandom(200 * 1024),
    }
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    typed = Draft(
        to=("bob@example.org",),
        subject="Three",
        body="See attached.\n",
        attachments=tuple(tmp_path / name for name in files),
    )
    outbox = Outbox()
    claim = outbox.add(prepare(compose("jane@isp.example", typed)), "isp")
    back = entry_as_draft(outbox, claim.entry)
    claim.release()
    assert back.body == "See attached.\n" and back.subject == "Three"
    assert {p.name: p.read_bytes() for p in back.attachments} == files
