"""A hostile review of the outbox's promises (issue 11): each test here failed on the code
it was written against. Servers on loopback only."""

from __future__ import annotations

import asyncio
import errno
import os
import threading
from pathlib import Path

from tests.conftest import LeakGuard, down_server, isp_at, isp_profile, queue_while_down, run_cli
from tests.scripted_server import ScriptedServer, dialogue, start_scripted
from tui.core import maildir, sending
from tui.core.message import Draft
from tui.core.outbox import Outbox
from tui.core.outbox import store as outbox_module
from tui.core.results import ExitCode
from tui.demo.servers import ServerThread

DRAFT = Draft(to=("bob@example.org",), subject="Review", body="Hello Bob\n")


# -- a cancel while the session's claims are not covered by `_Run.finish` -------------------------


_CTRL_C_DURING_PROBE = """
import asyncio, os, signal, sys
from tui.core import sending

async def slow_probe(*args, **kw):  # the person presses Ctrl-C while ports are probed
    os.kill(os.getpid(), signal.SIGINT)
    await asyncio.sleep(30)
    return {}

sending.probe_ports = slow_probe
from tui import cli
sys.exit(cli.main(sys.argv[1:]))
"""


def test_ctrl_c_during_the_port_probe_does_not_leave_a_not_sent_message_queued(
    home: Path, servers: ServerThread, leak_guard: LeakGuard
) -> None:
    """Ctrl-C (or Escape in the app) while mailtui probes ports after a failed connection:
    `Attempt._session` awaits probe_ports outside the try that calls `_Run.finish`, so the
    claim is never settled. `send` says "not sent" and saves a draft, yet the message stays
    in the outbox ("sending", then interrupted once the process is gone) and the next flush
    sends it: with the draft sent again by the person, it arrives twice."""
    import subprocess
    import sys

    from tests.conftest import REPO
    from tui.core.drafts import Drafts

    isp_profile(home, down_server(servers), timeout=3)  # type: ignore[arg-type]
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _CTRL_C_DURING_PROBE,
            "send",
            "--profile",
            "isp",
            "--to",
            "bob@example.org",
            "--subject",
            "Probe",
        ],
        input=b"Hello\n",
        capture_output=True,
        timeout=60,
        cwd=REPO,
    )
    err = done.stderr.decode()
    leak_guard.add(err)
    assert done.returncode == 130 and "not sent" in err and "saved to drafts" in err, err
    assert len(Drafts().list()) == 1
    states = [e.effective_state for e in Outbox().entries()]
    server = start_scripted(servers, dialogue({}))
    isp_profile(home, server, timeout=3)  # type: ignore[arg-type]
    run_cli(leak_guard, "outbox", "flush")
    assert server.messages == 0, f"'not sent, saved to drafts', yet a flush sent it ({states})"


async def test_cancel_while_a_large_message_is_filed_raises_cancelled_and_keeps_nothing(
    home: Path, servers: ServerThread, monkeypatch: object, tmp_path: Path
) -> None:
    """Ctrl-C while a message with an attachment is written to the outbox (in a thread):
    `filing.exception()` on a future that is not done raises InvalidStateError, so the
    caller gets a crash instead of CancelledError, and the message is left claimed
    "sending" in the outbox: the next flush sends what the person interrupted."""
    server = start_scripted(servers, dialogue({}))
    profile = isp_at(home, server)
    attachment = tmp_path / "big.bin"
    attachment.write_bytes(os.urandom(400_000))  # above 256 KB: filed in a thread
    started, gate = threading.Event(), threading.Event()
    real = Outbox.add_composed

    def slow(self: Outbox, composed: object, profile_id: str) -> object:
        started.set()
        gate.wait(10)
        return real(self, composed, profile_id)  # type: ignore[arg-type]

    monkeypatch.setattr(Outbox, "add_composed", slow)  # type: ignore[attr-defined]
    task = asyncio.ensure_future(
        sending.send(profile, DRAFT._replace(attachments=(attachment,)), probe=())
    )
    assert await asyncio.to_thread(started.wait, 10)
    task.cancel()
    await asyncio.sleep(0.05)
    gate.set()
    raised: BaseException | None = None
    try:
        await task
    except BaseException as exc:
        raised = exc
    await asyncio.sleep(0.5)  # the filing thread has finished by now
    import gc

    gc.collect()
    assert isinstance(raised, asyncio.CancelledError), repr(raised)
    assert Outbox().entries() == [], [e.effective_state for e in Outbox().entries()]


# -- an entry without its record -----------------------------------------------------------------


def test_an_entry_whose_record_is_missing_can_be_deleted(home: Path, leak_guard: LeakGuard) -> None:
    """`kill -9` between the message's rename into new/ and its record's write
    (Outbox.add_composed) leaves a message without a record; `outbox list` says "inspect the
    message file", but `outbox delete` (and `retry`) answer "is being sent right now"
    forever, though nothing holds it."""
    folder = maildir.ensure_maildir(home / "outbox")
    path = maildir.deliver(folder, b"From: a@b.example\r\nSubject: orphan\r\n\r\nbody\r\n")
    entry_id = maildir.base_name(path)
    listed = run_cli(leak_guard, "outbox", "list")
    assert entry_id in listed.out and "record is missing" in listed.out
    deleted = run_cli(leak_guard, "outbox", "delete", entry_id)
    assert "being sent right now" not in deleted.err, deleted.err
    assert deleted.code == 0, deleted.err
    assert Outbox().entries() == []


def test_a_corrupt_record_does_not_block_its_entry_forever(
    home: Path, servers: ServerThread, leak_guard: LeakGuard
) -> None:
    asyncio.run(queue_while_down(home, servers, [DRAFT]))
    [entry] = Outbox().entries()
    (home / "outbox" / ".mailtui" / f"{entry.id}.json").write_text("{not json")
    deleted = run_cli(leak_guard, "outbox", "delete", entry.id)
    assert "being sent right now" not in deleted.err, deleted.err
    assert deleted.code == 0, deleted.err


# -- a full disk when a flush claims -------------------------------------------------------------


async def test_a_full_disk_when_claiming_neither_crashes_the_flush_nor_keeps_the_lock(
    home: Path, servers: ServerThread, monkeypatch: object
) -> None:
    """ENOSPC while claim() writes "sending": the OSError escapes Attempt.flush (a traceback
    and exit 1 from `outbox flush`; a failed worker in the app), and while that exception is
    kept (Textual keeps a worker's error) the Claim inside its traceback holds the entry's
    lock: nobody in or out of the process can send, retry or delete it."""
    await queue_while_down(home, servers, [DRAFT])
    server = start_scripted(servers, dialogue({}))
    profile = isp_at(home, server)
    real = outbox_module.write_private

    def full(path: Path, data: bytes, sync: bool = True) -> None:
        if path.parent.name == ".mailtui":
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, data, sync)

    monkeypatch.setattr(outbox_module, "write_private", full)  # type: ignore[attr-defined]
    kept: list[BaseException] = []
    try:
        result = await sending.flush(profile)
    except OSError as exc:
        kept.append(exc)  # as a Textual worker keeps its error
    monkeypatch.setattr(outbox_module, "write_private", real)  # type: ignore[attr-defined]
    [entry] = Outbox().entries()
    claim = Outbox().claim(entry.id)
    assert claim is not None, "the entry stays locked by a dead attempt's traceback"
    claim.release()
    assert kept == [], f"the flush raised {kept[0]!r} instead of reporting it"
    assert result.exit_code != ExitCode.OK


# -- partial sends --------------------------------------------------------------------------------


async def test_a_greylisted_recipient_in_a_flush_stays_queued_not_refused(
    home: Path, servers: ServerThread
) -> None:
    """One recipient accepted, the other greylisted (451 at RCPT, the most common temporary
    answer): the flush marks the rest "refused" (never retried) and exits 69, where a
    message whose only recipient got the same 451 is queued and retried (75)."""
    both = Draft(to=("bob@example.org", "carol@example.org"), subject="Both", body="x\n")
    await queue_while_down(home, servers, [both])
    server = start_scripted(
        servers,
        dialogue({"RCPT carol@example.org": "451 4.7.1 <carol@example.org>: greylisted, retry"}),
    )
    flushed = await sending.flush(isp_at(home, server))
    [entry] = Outbox().entries()
    assert entry.recipients == ("carol@example.org",)
    assert entry.delivered_to == ("bob@example.org",)
    assert entry.waiting, f"state {entry.state_label!r}: a 451 is never retried by itself"
    assert flushed.exit_code == ExitCode.TEMPFAIL, flushed.exit_code


# -- locks ----------------------------------------------------------------------------------------


def test_a_lock_file_removed_by_hand_does_not_let_a_second_flush_send_the_entry(
    home: Path, servers: ServerThread, leak_guard: LeakGuard
) -> None:
    """A lock file removed while its flush still sends (a cleaner, a person tidying
    `.mailtui/`): the next claim creates a new lock file, locks it, finds the record
    "sending" by a live pid and sends the message a second time."""
    import subprocess
    import sys
    import time

    from tests.conftest import REPO

    asyncio.run(queue_while_down(home, servers, [DRAFT]))
    [entry] = Outbox().entries()

    async def slow_first(reader, writer, server: ScriptedServer) -> None:  # type: ignore[no-untyped-def]
        if server.connections == 1:
            await asyncio.sleep(3)  # the first flush waits for the greeting, "sending"
            await dialogue({})(reader, writer, server)
        else:  # the second flush's 250 comes late: both have the file open by then
            await dialogue({}, delay=5)(reader, writer, server)

    server = start_scripted(servers, slow_first)
    isp_profile(home, server, timeout=10)  # type: ignore[arg-type]
    first = subprocess.Popen(
        [sys.executable, "-m", "tui", "outbox", "flush"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )
    lock = home / "outbox" / ".mailtui" / f"{entry.id}.lock"
    deadline = time.monotonic() + 20
    while server.connections < 1:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert Outbox().get(entry.id).effective_state == "sending"  # type: ignore[union-attr]
    lock.unlink()
    second = run_cli(leak_guard, "outbox", "flush")
    out, err = first.communicate(timeout=30)
    leak_guard.add((out + err).decode())
    assert server.messages == 1, f"sent {server.messages} times; second flush: {second.err}"


# -- leftovers ------------------------------------------------------------------------------------


def test_records_and_locks_of_vanished_messages_are_cleaned_up(
    home: Path, servers: ServerThread, leak_guard: LeakGuard
) -> None:
    """kill -9 inside Outbox._remove_claimed (after the message file went, before its record
    and lock file), or a message file removed by a Maildir reader: its record and lock stay
    in outbox/.mailtui for ever; `outbox flush` sweeps tmp/ but never these."""
    asyncio.run(queue_while_down(home, servers, [DRAFT]))
    [entry] = Outbox().entries()
    Outbox()._path(entry.id).unlink()  # type: ignore[union-attr]
    meta = home / "outbox" / ".mailtui"
    (meta / f"{entry.id}.lock").touch()
    (meta / f".{entry.id}.json.0123456789ab.tmp").write_text("{}")  # kill -9 in write_private
    old = 1_000_000_000
    for path in meta.iterdir():
        os.utime(path, (old, old))
    run_cli(leak_guard, "outbox", "flush")
    assert sorted(p.name for p in meta.iterdir()) == []


# -- Ctrl-C after the outbox gave the message back, before the draft is saved ---------------------


def test_ctrl_c_after_a_refusal_is_given_back_does_not_lose_the_message(
    home: Path, servers: ServerThread, leak_guard: LeakGuard
) -> None:
    """`mailtui send`, relay denied at RCPT: `_Run.finish` settles first (the outbox gives the
    message back: its file is removed), then writes the record and networks.json (up to 2 s
    waiting for its lock while another mailtui process holds it). One Ctrl-C in that
    synchronous stretch cancels asyncio.run's main task as it returns: the result is thrown
    away, `keep_given_back` never runs, and the CLI prints "interrupted", 130. The message is
    in neither the outbox, nor drafts/, nor sent/: lost."""
    import fcntl
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import REPO
    from tui.core.drafts import Drafts

    server = start_scripted(
        servers, dialogue({"RCPT": "554 5.7.1 <bob@example.org>: Relay access denied"})
    )
    isp_profile(home, server, timeout=5)  # type: ignore[arg-type]
    lock = os.open(home / "networks.json.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)  # another mailtui process is recording its outcome
    try:
        send = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tui",
                "send",
                "--profile",
                "isp",
                "--to",
                "bob@example.org",
                "--subject",
                "Keep me",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=REPO,
        )
        assert send.stdin is not None
        send.stdin.write(b"Do not lose me.\n")
        send.stdin.close()
        send.stdin = None
        deadline = time.monotonic() + 20
        while "QUIT" not in server.commands():
            assert time.monotonic() < deadline
            time.sleep(0.02)
        time.sleep(0.5)  # settled; now waiting for networks.json's lock
        send.send_signal(signal.SIGINT)
        out, err = send.communicate(timeout=30)
    finally:
        os.close(lock)
    text = (out + err).decode()
    leak_guard.add(text)
    kept = len(Outbox().entries()) + len(Drafts().list())
    assert kept == 1, f"exit {send.returncode}, {text!r}: the message is nowhere"
