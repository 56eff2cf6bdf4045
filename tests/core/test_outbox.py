"""Never lose a message: the outbox, retries, unknown outcomes, drafts and sent copies."""

from __future__ import annotations

import errno
import os
import stat
import time
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from tests.conftest import LeakGuard, isp_profile, run_cli
from tests.scripted_server import dialogue, start_scripted
from tui.cli import keep_given_back
from tui.core import files, maildir, sending
from tui.core.drafts import Drafts
from tui.core.message import Draft
from tui.core.outbox import QUEUED, UNKNOWN, Outbox
from tui.core.profiles import Profile, load_profile, save_profile
from tui.core.results import ExitCode, Outcome
from tui.demo.servers import ServerSpec, ServerThread

DRAFT = Draft(to=("bob@example.org",), subject="Queued", body="Hello Bob\n")


def _profile(home: Path, port: int) -> Profile:
    class Where:
        host = "127.0.0.1"

    Where.port = port  # type: ignore[attr-defined]
    return load_profile(isp_profile(home, Where, timeout=3))  # type: ignore[arg-type]


async def test_server_down_then_flush_delivers_exactly_once(
    home: Path, servers: ServerThread
) -> None:
    running = servers.start(ServerSpec("isp"))
    port = running.port
    servers.stop(running)
    profile = _profile(home, port)
    result = await sending.send(profile, DRAFT, probe=())
    assert result.exit_code == ExitCode.TEMPFAIL == 75
    assert "kept in the outbox" in result.summary
    [entry] = Outbox().entries()
    assert (
        entry.state == QUEUED and entry.attempts == 1 and entry.recipients == ("bob@example.org",)
    )
    assert "connection was refused" in entry.last_error
    message_file = next(maildir.messages(home / "outbox"))
    assert stat.S_IMODE(message_file.stat().st_mode) == 0o600
    assert (
        message_from_bytes(message_file.read_bytes(), policy=policy.default)["Subject"] == "Queued"
    )

    back = servers.start(ServerSpec("isp"), port=port)
    stale = Outbox().entries()  # what a second flush listed before the first one ran
    flushed = await sending.flush(profile, stale)
    assert flushed.sent == 1
    assert Outbox().entries() == []
    assert len(back.messages) == 1
    again = await sending.flush(profile, stale)  # its list is out of date: the claim says so
    assert again.messages == () and len(back.messages) == 1  # exactly once
    [sent_copy] = list(maildir.messages(home / "sent"))
    assert sent_copy.read_bytes() == back.messages[0].content.replace(b"\r\n", b"\r\n")


async def test_451_then_250_delivers_after_one_retry(home: Path, servers: ServerThread) -> None:
    server = start_scripted(
        servers, dialogue({"MAIL": ["451 4.3.0 Try again later", "250 2.1.0 Ok"]})
    )
    profile = _profile(home, server.port)
    first = await sending.send(profile, DRAFT)
    assert first.exit_code == 75 and first.outcome is Outcome.TEMPORARY
    [entry] = Outbox().entries()
    assert entry.attempts == 1 and entry.next_try > time.time()  # backoff before the next try
    flushed = await sending.flush(profile, [entry])
    assert flushed.sent == 1
    assert server.messages == 1
    assert Outbox().entries() == []


async def test_drop_after_end_of_data_is_unknown_and_never_resent(
    home: Path, servers: ServerThread
) -> None:
    server = start_scripted(servers, dialogue({"DATA_END": "drop"}))
    profile = _profile(home, server.port)
    result = await sending.send(profile, DRAFT)
    assert result.outcome is Outcome.UNKNOWN
    assert result.exit_code == 75
    assert "may or may not have been delivered" in result.summary
    [entry] = Outbox().entries()
    assert entry.state == UNKNOWN and not entry.waiting
    flushed = await sending.flush(profile, Outbox().entries())  # every entry, unknown too
    assert flushed.messages == ()
    assert server.messages == 1  # not sent a second time


async def test_permanent_refusal_is_not_queued(home: Path, servers: ServerThread) -> None:
    server = start_scripted(
        servers, dialogue({"RCPT": "550 5.1.1 <bob@example.org>: User unknown"})
    )
    profile = _profile(home, server.port)
    result = keep_given_back(DRAFT, profile, await sending.send(profile, DRAFT))
    assert result.exit_code == 69
    assert Outbox().entries() == []
    [saved] = Drafts().list()
    assert saved.draft.to == ("bob@example.org",) and saved.draft.subject == "Queued"
    assert saved.draft.body == "Hello Bob\n"
    assert "saved to drafts" in result.summary


async def test_flush_of_200_uses_one_connection(home: Path, servers: ServerThread) -> None:
    running = servers.start(ServerSpec("isp"))
    port = running.port
    servers.stop(running)
    profile = _profile(home, port)
    box = Outbox()
    for index in range(200):
        draft = Draft(to=(f"r{index}@example.org",), subject=f"n{index}", body="x")
        result = await sending.send(profile, draft, probe=(), outbox=box)
        assert result.exit_code == 75
    assert len(box.entries()) == 200
    back = servers.start(ServerSpec("isp"), port=port)
    flushed = await sending.flush(profile, box.entries(), outbox=box)
    assert flushed.sent == 200
    assert back.sink.connections == 1
    assert len(back.messages) == 200
    assert sorted(m.rcpt_tos[0] for m in back.messages) == sorted(
        f"r{i}@example.org" for i in range(200)
    )


def test_cli_outbox_fills_and_drains(
    home: Path, servers: ServerThread, leak_guard: LeakGuard
) -> None:
    running = servers.start(ServerSpec("isp"))
    port = running.port
    servers.stop(running)
    _profile(home, port)
    down = run_cli(
        leak_guard, "send", "--profile", "isp", "--to", "bob@example.org", "--subject", "Later"
    )
    assert down.code == 75 and "kept in the outbox" in down.err
    listed = run_cli(leak_guard, "outbox")
    assert listed.code == 75 and "queued" in listed.out and "Later" in listed.out
    still_down = run_cli(leak_guard, "outbox", "flush")
    assert still_down.code == 75
    back = servers.start(ServerSpec("isp"), port=port)
    flushed = run_cli(leak_guard, "outbox", "flush")
    assert flushed.code == 0, flushed.err
    assert "Sent to bob@example.org" in flushed.out
    assert run_cli(leak_guard, "outbox", "list").out.strip() == "The outbox is empty."
    assert len(back.messages) == 1


def test_failed_profile_save_keeps_the_old_file(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = Profile(
        id="p", name="Old name", from_="a@b.example", host="smtp.b.example", security="none"
    )
    path = save_profile(profile)
    before = path.read_bytes()

    def full_disk(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files.os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        save_profile(
            Profile(
                id="p", name="New name", from_="a@b.example", host="smtp.b.example", security="none"
            )
        )
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["p.toml"]


async def test_full_disk_before_sending_is_a_clear_error(
    home: Path, servers: ServerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = servers.start(ServerSpec("isp"))
    profile = _profile(home, server.port)

    def full_disk(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(maildir.os, "fsync", full_disk)
    result = await sending.send(profile, DRAFT)
    assert result.exit_code == ExitCode.IOERR
    assert "could not be kept in the outbox" in result.summary and "No space left" in result.summary
    assert server.sink.connections == 0
    assert list(maildir.messages(home / "outbox")) == []
    assert list((home / "outbox" / "tmp").iterdir()) == []


def test_messages_are_listed_oldest_first_within_a_second(home: Path) -> None:
    """Maildir names carry microseconds without leading zeros: compared as text, M99999
    came after M100000 and a flush sent messages out of order."""
    folder = maildir.ensure_maildir(home / "outbox")
    host = "vm"
    names = [f"1796070000.M{micro}P1Q{n}.{host}" for n, micro in enumerate((5, 99_999, 100_000))]
    for name in reversed(names):
        (folder / "new" / name).write_bytes(b"x")
    assert [p.name for p in maildir.messages(folder)] == names
