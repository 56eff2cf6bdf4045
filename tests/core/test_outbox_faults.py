"""The outbox's promises under faults: never lose a message, never send it twice.

Misbehaving servers on loopback, signals and `kill -9` on real `mailtui` processes, two
flushes at once, and a full disk. Each test here failed on the outbox before it had claims,
a durable "end of data sent" and one place (`Outbox.settle`) that decides where a message
goes.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import (
    REPO,
    LeakGuard,
    Pki,
    down_server,
    isp_at,
    isp_profile,
    portal_profile,
    queue_while_down,
    run_cli,
)
from tests.scripted_server import ScriptedServer, dialogue, start_scripted
from tui.core import maildir, sending
from tui.core.drafts import Drafts
from tui.core.message import Draft
from tui.core.outbox import Outbox, sweep_tmp
from tui.core.results import ExitCode, Outcome
from tui.demo.servers import ServerSpec, ServerThread

DRAFT = Draft(to=("bob@example.org",), subject="Queued", body="Hello Bob\n")


def _queued(count: int) -> list[Draft]:
    return [
        Draft(to=(f"r{index}@example.org",), subject=f"Queued {index}", body="Hello\n")
        for index in range(count)
    ]


def _cli(*args: str, body: str = "") -> subprocess.Popen[str]:
    """`mailtui ARGS` running in the background, `body` on its standard input."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tui", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert process.stdin is not None
    process.stdin.write(body)
    process.stdin.close()
    process.stdin = None  # communicate() must not touch it again
    return process


NO_SIZE = ("PIPELINING", "8BITMIME")  # no SIZE limit: 20 MB go as far as DATA


def _stuck_in_the_body(
    home: Path, servers: ServerThread, tmp_path: Path, subject: str
) -> tuple[ScriptedServer, subprocess.Popen[str]]:
    """`mailtui send` of a 20 MB attachment to a server that stopped reading the body:
    returned once the body has begun, the end of data still far off."""
    server = start_scripted(servers, dialogue({"BODY": "stall"}, extensions=NO_SIZE))
    isp_profile(home, server, timeout=60)  # type: ignore[arg-type]
    attachment = tmp_path / "big.bin"
    attachment.write_bytes(os.urandom(20_000_000))  # more than the socket buffers hold
    send = _cli(
        "send",
        "--profile",
        "isp",
        "--to",
        "bob@example.org",
        "--subject",
        subject,
        "--attach",
        str(attachment),
        body=f"{subject}\n",
    )
    _wait(lambda: server.body_bytes > 0, what="the body")
    return server, send


def _wait(condition: object, seconds: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting: {what}"
        time.sleep(0.02)


# -- 1. a refusal at flush time keeps the message -------------------------------------------------


def test_flush_refused_at_data_keeps_the_whole_message_and_exits_69(
    home: Path, servers: ServerThread, leak_guard: LeakGuard, tmp_path: Path
) -> None:
    attachment = tmp_path / "report.pdf"
    attachment.write_bytes(os.urandom(50_000))
    isp_profile(home, down_server(servers), timeout=3)  # type: ignore[arg-type]
    queued = run_cli(
        leak_guard,
        "send",
        "--profile",
        "isp",
        "--to",
        "bob@example.org",
        "--subject",
        "Refused later",
        "--attach",
        str(attachment),
    )
    assert queued.code == 75, queued.err
    server = start_scripted(servers, dialogue({"DATA_END": "554 5.7.1 Message refused"}))
    isp_profile(home, server, timeout=3)  # type: ignore[arg-type]

    flushed = run_cli(leak_guard, "outbox", "flush")
    assert flushed.code == 69, flushed.out + flushed.err
    assert "554 5.7.1 Message refused" in flushed.err and "marked 'refused'" in flushed.err
    [entry] = Outbox().entries()
    assert entry.state_label == "refused" and "554" in entry.last_error
    kept = Outbox().data(entry)
    assert b"Refused later" in kept and len(kept) > 60_000  # attachment included
    listed = run_cli(leak_guard, "outbox", "list")
    assert "refused" in listed.out and "Refused later" in listed.out

    again = run_cli(leak_guard, "outbox", "flush")
    assert server.messages == 1  # a refused message is not retried by itself
    assert again.code == 75 and "1 refused" in again.err


async def test_a_server_that_stops_reading_the_body_leaves_it_queued(
    home: Path, servers: ServerThread
) -> None:
    profile = isp_at(home, down_server(servers), timeout=1)
    big = Draft(to=("bob@example.org",), subject="Big", body="x" * 60 + "\n")
    attachment = home / "big.bin"
    attachment.write_bytes(os.urandom(20_000_000))
    result = await sending.send(profile, big._replace(attachments=(attachment,)), probe=())
    assert result.outcome is Outcome.TEMPORARY
    server = start_scripted(servers, dialogue({}, extensions=NO_SIZE, stop_reading_after=200_000))
    profile = isp_at(home, server, timeout=1)
    flushed = await sending.flush(profile)
    [(_entry, outcome)] = flushed.messages
    # Before: a builtin TimeoutError that read as a "protocol" error, and the message deleted.
    assert outcome.outcome is Outcome.TEMPORARY, outcome.summary
    assert outcome.diagnosis is not None and outcome.diagnosis.kind == "timeout"
    [entry] = Outbox().entries()
    assert entry.waiting and entry.attempts == 2
    assert server.messages == 0


# -- 2. two flushes at once -----------------------------------------------------------------------


async def test_two_flushes_at_once_deliver_each_message_once(
    home: Path, servers: ServerThread, leak_guard: LeakGuard
) -> None:
    await queue_while_down(home, servers, _queued(5))
    server = start_scripted(servers, dialogue({}, delay=0.2))  # slow: the flushes overlap
    isp_profile(home, server, timeout=5)  # type: ignore[arg-type]
    first, second = _cli("outbox", "flush"), _cli("outbox", "flush")
    outs = [p.communicate(timeout=60) for p in (first, second)]
    for out, err in outs:
        leak_guard.add(out + err)
    assert server.messages == 5, outs
    assert {first.returncode, second.returncode} == {0}, outs
    assert Outbox().entries() == []
    assert len(list(maildir.messages(home / "sent"))) == 5
    # and a third flush afterwards neither crashes nor sends anything
    after = run_cli(leak_guard, "outbox", "flush")
    assert after.code == 0 and "Nothing to send" in after.out and server.messages == 5


async def test_retry_or_delete_while_a_flush_sends_it_is_refused(
    home: Path, servers: ServerThread, leak_guard: LeakGuard
) -> None:
    await queue_while_down(home, servers, _queued(1))
    server = start_scripted(servers, dialogue({"DATA_END": "stall"}))
    isp_profile(home, server, timeout=30)  # type: ignore[arg-type]
    flush = _cli("outbox", "flush")
    _wait(lambda: server.messages == 1, what="the flush to reach the end of data")
    [entry] = Outbox().entries()
    assert entry.state_label == "sending"
    for action in ("retry", "delete"):
        busy = run_cli(leak_guard, "outbox", action, entry.id)
        assert busy.code == 75 and "being sent right now" in busy.err
    flush.kill()
    flush.communicate()
    assert server.messages == 1


# -- 3. an interruption after the final dot is "outcome unknown" ----------------------------------


def test_ctrl_c_after_the_dot_is_unknown_not_a_draft(
    home: Path, servers: ServerThread, leak_guard: LeakGuard
) -> None:
    server = start_scripted(servers, dialogue({"DATA_END": "stall"}))
    isp_profile(home, server, timeout=30)  # type: ignore[arg-type]
    send = _cli(
        "send",
        "--profile",
        "isp",
        "--to",
        "bob@example.org",
        "--subject",
        "Dotted",
        body="Already at the server.\n",
    )
    _wait(lambda: server.messages == 1, what="the end of data")
    send.send_signal(signal.SIGINT)
    out, err = send.communicate(timeout=30)
    leak_guard.add(out + err)
    assert send.returncode == 75, err
    assert "may or may not have been delivered" in err and "drafts" not in err
    [entry] = Outbox().entries()
    assert entry.state_label == "unknown" and not entry.waiting
    assert Drafts().list() == []
    flushed = run_cli(leak_guard, "outbox", "flush")
    assert server.messages == 1 and flushed.code == 75  # never resent by itself


def test_ctrl_c_before_the_dot_is_not_sent_and_kept_as_a_draft(
    home: Path, servers: ServerThread, leak_guard: LeakGuard, tmp_path: Path
) -> None:
    server, send = _stuck_in_the_body(home, servers, tmp_path, "Undotted")
    time.sleep(0.2)
    send.send_signal(signal.SIGINT)
    out, err = send.communicate(timeout=30)
    leak_guard.add(out + err)
    assert send.returncode == 130, err
    assert "not sent" in err and "saved to drafts" in err
    assert Outbox().entries() == [] and len(Drafts().list()) == 1
    assert server.messages == 0


async def test_sigint_during_a_flush_after_the_dot_is_unknown_not_requeued(
    home: Path, servers: ServerThread, leak_guard: LeakGuard
) -> None:
    await queue_while_down(home, servers, _queued(1))
    server = start_scripted(servers, dialogue({"DATA_END": "stall"}))
    isp_profile(home, server, timeout=30)  # type: ignore[arg-type]
    flush = _cli("outbox", "flush")
    _wait(lambda: server.messages == 1, what="the end of data")
    flush.send_signal(signal.SIGINT)
    out, err = flush.communicate(timeout=30)
    leak_guard.add(out + err)
    [entry] = Outbox().entries()
    assert entry.state_label == "unknown", (out, err)
    assert run_cli(leak_guard, "outbox", "flush").code == 75
    assert server.messages == 1


# -- 4. kill -9 -----------------------------------------------------------------------------------


def test_kill_9_after_the_dot_is_unknown_and_never_resent(
    home: Path, servers: ServerThread, leak_guard: LeakGuard
) -> None:
    server = start_scripted(servers, dialogue({"DATA_END": "stall"}))
    isp_profile(home, server, timeout=60)  # type: ignore[arg-type]
    send = _cli(
        "send",
        "--profile",
        "isp",
        "--to",
        "bob@example.org",
        "--subject",
        "Killed",
        body="Do not send me twice.\n",
    )
    _wait(lambda: server.messages == 1, what="the end of data")
    send.kill()
    send.communicate()
    [entry] = Outbox().entries()
    assert entry.subject == "Killed" and entry.state_label == "unknown" and not entry.waiting
    listed = run_cli(leak_guard, "outbox", "list")
    assert listed.code == 75 and "unknown" in listed.out and "Killed" in listed.out
    flushed = run_cli(leak_guard, "outbox", "flush")
    assert flushed.code == 75 and server.messages == 1


def test_kill_9_while_waiting_for_quit_is_sent_not_resent(
    home: Path, servers: ServerThread, leak_guard: LeakGuard
) -> None:
    server = start_scripted(servers, dialogue({"QUIT": "stall"}))
    isp_profile(home, server, timeout=60)  # type: ignore[arg-type]
    send = _cli(
        "send", "--profile", "isp", "--to", "bob@example.org", "--subject", "Quit", body="Hi\n"
    )
    _wait(lambda: "QUIT" in server.commands(), what="QUIT")
    send.kill()
    send.communicate()
    assert Outbox().entries() == []  # filed the moment the 250 came, before QUIT
    assert len(list(maildir.messages(home / "sent"))) == 1
    assert run_cli(leak_guard, "outbox", "flush").code == 0 and server.messages == 1


def test_kill_9_before_the_dot_is_interrupted_and_sent_once_later(
    home: Path, servers: ServerThread, leak_guard: LeakGuard, tmp_path: Path
) -> None:
    stalled, send = _stuck_in_the_body(home, servers, tmp_path, "Killed")
    send.kill()
    send.communicate()
    [entry] = Outbox().entries()
    assert entry.state_label == "interrupted" and entry.waiting
    good = start_scripted(servers, dialogue({}, extensions=NO_SIZE))
    isp_profile(home, good, timeout=5)  # type: ignore[arg-type]
    flushed = run_cli(leak_guard, "outbox", "flush")
    assert flushed.code == 0, flushed.err
    assert good.messages == 1 and stalled.messages == 0 and Outbox().entries() == []


def test_kill_9_at_random_points_of_20_mb_sends_never_duplicates_or_loses(
    home: Path, servers: ServerThread, leak_guard: LeakGuard, tmp_path: Path
) -> None:
    """20 sends of a 20 MB attachment, each killed at a random moment (filing, body, after
    the dot, after the 250); then a flush. Each message reaches the server at most once and
    is exactly once where its state says; nothing is left in tmp/."""
    runs = 20
    server = servers.start(ServerSpec("isp", data_size_limit=64_000_000))
    isp_profile(home, server, timeout=30)  # type: ignore[arg-type]
    attachment = tmp_path / "big.bin"
    attachment.write_bytes(os.urandom(20_000_000))
    rng = random.Random(20261130)
    for run in range(runs):
        send = _cli(
            "send",
            "--profile",
            "isp",
            "--to",
            "bob@example.org",
            "--subject",
            f"Run {run}",
            "--attach",
            str(attachment),
            body=f"Run {run}\n",
        )
        time.sleep(rng.uniform(0.0, 1.5))
        send.kill()
        send.communicate()
    # The flush takes what never reached its end of data; unknown outcomes stay.
    flushed = run_cli(leak_guard, "outbox", "flush")
    assert flushed.code in (0, 75), flushed.err
    delivered = [_subject(m.content) for m in server.messages]
    for run in range(runs):
        assert delivered.count(f"Run {run}") <= 1, f"Run {run} was delivered twice"
    left = Outbox().entries()
    assert all(e.state_label == "unknown" for e in left), [e.state_label for e in left]
    unknown = [e.subject for e in left]
    sent_copies = [_subject(p.read_bytes()) for p in maildir.messages(home / "sent")]
    assert len(set(sent_copies)) == len(sent_copies)
    assert set(sent_copies) <= set(delivered)  # a sent/ copy only for what the server has
    assert not set(sent_copies) & set(unknown)  # and each message in one place only
    for subject in delivered:  # what the server has is in sent/ or marked unknown
        assert subject in sent_copies or subject in unknown, subject
    leftovers = [p for sub in ("outbox", "sent") for p in (home / sub / "tmp").glob("*")]
    assert leftovers == [], leftovers
    assert len(delivered) >= 3, "too few runs got as far as the server: the kills came too early"


def _subject(content: bytes) -> str:
    for line in content.split(b"\r\n" if b"\r\n" in content else b"\n"):
        if line.startswith(b"Subject: "):
            return line[9:].decode()
    return ""


# -- 5. after the server accepted, a full disk changes nothing ------------------------------------


async def test_sent_copy_failing_after_the_250_is_a_warning_not_a_resend(
    home: Path, servers: ServerThread, leak_guard: LeakGuard
) -> None:
    server = servers.start(ServerSpec("isp"))
    isp_profile(home, server)  # type: ignore[arg-type]
    (home / "sent").write_text("not a folder")  # sent/ cannot be written
    done = run_cli(
        leak_guard, "send", "--profile", "isp", "--to", "bob@example.org", "--subject", "Hi"
    )
    assert done.code == 0, done.err
    assert "Sent to bob@example.org" in done.err
    assert "warning: its copy could not be written to sent/" in done.err
    assert Outbox().entries() == []
    assert run_cli(leak_guard, "outbox", "flush").code == 0 and len(server.messages) == 1


# -- 6. only the message in flight can be unknown -------------------------------------------------


async def test_a_drop_after_message_2_of_4_leaves_3_and_4_queued(
    home: Path, servers: ServerThread
) -> None:
    await queue_while_down(home, servers, _queued(4))
    dropping = start_scripted(servers, dialogue({"DATA_END": ["250 2.0.0 Ok", "drop"]}))
    profile = isp_at(home, dropping)
    flushed = await sending.flush(profile)
    outcomes = [result.outcome for _entry, result in flushed.messages]
    assert outcomes == [Outcome.SENT, Outcome.UNKNOWN, Outcome.NOT_TRIED, Outcome.NOT_TRIED]
    states = {e.subject: e.state_label for e in Outbox().entries()}
    assert states == {"Queued 1": "unknown", "Queued 2": "queued", "Queued 3": "queued"}
    good = start_scripted(servers, dialogue({}))
    again = await sending.flush(isp_at(home, good))
    assert again.sent == 2 and good.messages == 2
    assert [e.subject for e in Outbox().entries()] == ["Queued 1"]


# -- 7. a 2xx before the end of data is not acceptance --------------------------------------------


async def test_an_early_250_during_data_is_not_sent(home: Path, servers: ServerThread) -> None:
    server = start_scripted(servers, dialogue({"BODY": "250 2.0.0 Ok: queued early"}))
    profile = isp_at(home, server)
    big = DRAFT._replace(body="line of the body\n" * 400_000)  # 6.8 MB: still going at the 250
    result = await sending.send(profile, big, probe=())
    assert result.outcome is not Outcome.SENT and result.exit_code != ExitCode.OK, result.summary
    assert result.diagnosis is not None and result.diagnosis.kind == "early-reply"
    assert list(maildir.messages(home / "sent")) == []


# -- 11. a failed login waits for the person ------------------------------------------------------


async def test_a_failed_login_in_a_flush_is_held_not_retried(
    home: Path, servers: ServerThread, pki: Pki, leak_guard: LeakGuard
) -> None:
    portal_profile(home, down_server(servers), pki, timeout=3)  # type: ignore[arg-type]
    queued = run_cli(
        leak_guard, "send", "--profile", "portal", "--to", "bob@example.org", "--subject", "Later"
    )
    assert queued.code == 75
    server = start_scripted(
        servers,
        dialogue(
            {"AUTH": "535 5.7.8 Username and Password not accepted"},
            tls_context=pki.server_context,
        ),
    )
    portal_profile(home, server, pki, timeout=3)  # type: ignore[arg-type]
    first = run_cli(leak_guard, "outbox", "flush")
    assert first.code == 77, first.err
    [entry] = Outbox().entries()
    assert entry.state_label == "held" and "outbox retry" in first.err
    second = run_cli(leak_guard, "outbox", "flush")
    assert server.auth_attempts == 1  # no second login: an account lockout waits behind it
    assert second.code == 75 and "1 held" in second.err


# -- partial sends --------------------------------------------------------------------------------


def test_a_partial_send_keeps_only_the_refused_recipients(
    home: Path, servers: ServerThread, leak_guard: LeakGuard
) -> None:
    server = start_scripted(
        servers, dialogue({"RCPT carol@example.org": "550 5.1.1 <carol@example.org>: unknown"})
    )
    isp_profile(home, server)  # type: ignore[arg-type]
    done = run_cli(
        leak_guard,
        "send",
        "--profile",
        "isp",
        "--to",
        "Bob <bob@example.org>, carol@example.org",
        "--subject",
        "Both",
    )
    assert done.code == 69
    assert "delivered to bob@example.org" in done.err
    [draft] = Drafts().list()
    assert draft.draft.to == ("carol@example.org",)
    assert server.messages == 1


async def test_a_partial_flush_keeps_the_refused_part_marked(
    home: Path, servers: ServerThread
) -> None:
    profile = isp_at(home, down_server(servers))
    both = Draft(to=("bob@example.org", "carol@example.org"), subject="Both", body="x\n")
    await sending.send(profile, both, probe=())
    server = start_scripted(
        servers, dialogue({"RCPT carol@example.org": "550 5.1.1 <carol@example.org>: unknown"})
    )
    flushed = await sending.flush(isp_at(home, server))
    assert flushed.exit_code == ExitCode.UNAVAILABLE
    [entry] = Outbox().entries()
    assert entry.state_label == "refused"
    assert entry.recipients == ("carol@example.org",) and entry.delivered_to == ("bob@example.org",)
    assert len(list(maildir.messages(home / "sent"))) == 1


# -- tmp/ leftovers -------------------------------------------------------------------------------


def test_sweep_removes_what_dead_writers_left_in_tmp(home: Path) -> None:
    folder = maildir.ensure_maildir(home / "outbox")
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(dead.stdout)
    name = maildir.unique_name()
    mine = folder / "tmp" / name
    theirs = folder / "tmp" / name.replace(f"P{os.getpid()}Q", f"P{dead_pid}Q")
    ancient = folder / "tmp" / "1000000000.M1P1Q1.elsewhere"
    for path in (mine, theirs, ancient):
        path.write_bytes(b"half a message")
    os.utime(ancient, (1_000_000_000, 1_000_000_000))
    assert sweep_tmp(folder) == 2
    assert [p.name for p in (folder / "tmp").iterdir()] == [mine.name]


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def _died_after_its_sent_copy(box: Outbox, delivered_to: tuple[str, ...] = ()) -> str:
    """A sender that had the server's 250, filed its sent/ copy, and was killed before it
    took the message out of the outbox: its lock gone, its record saying data-sent."""
    from tui.core.message import Prepared

    claim = box.add(
        Prepared(
            "jane@isp.example",
            ("bob@example.org",),
            b"Subject: Accepted\r\n\r\nHello\r\n",
            False,
            "<accepted@isp.example>",
            "Accepted",
        ),
        "isp",
    )
    box.end_of_data(claim)
    assert box._file_sent(claim) == []
    box._update(claim, pid=_dead_pid(), delivered_to=delivered_to)
    claim.release()
    return claim.entry.id


def test_a_sender_killed_between_its_sent_copy_and_the_removal_leaves_it_in_sent_only(
    home: Path,
) -> None:
    """Seen once in CI under kill -9 at random moments: the message was in sent/ and in the
    outbox as "unknown" (which invites a resend by hand). The sent/ copy is made only after
    the 250, under the entry's name, so the next sweep (every flush) finishes the move."""
    from tui.core import locations

    box = Outbox()
    entry_id = _died_after_its_sent_copy(box)
    assert [e.state_label for e in box.entries()] == ["unknown"]  # until the next sweep
    box.sweep()
    assert box.entries() == []
    assert [maildir.base_name(p) for p in maildir.messages(locations.sent_dir())] == [entry_id]
    # A claim finds it the same way (the app's outbox screen, `outbox retry`).
    other = _died_after_its_sent_copy(box)
    assert box.claim(other, states=("unknown",)) is None
    assert box.entries() == []


def test_a_partly_delivered_entry_killed_after_the_dot_stays_unknown(home: Path) -> None:
    """Its sent/ copy may be from the first delivery: no proof the rest was accepted."""
    box = Outbox()
    _died_after_its_sent_copy(box, delivered_to=("carol@example.org",))
    box.sweep()
    assert [e.state_label for e in box.entries()] == ["unknown"]
