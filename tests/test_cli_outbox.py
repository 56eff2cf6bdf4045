"""`mailtui outbox` retry, flush and help, run as a user runs them, against real servers."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import LeakGuard, queue_while_down, run_cli
from tui.core.message import Draft
from tui.core.outbox import Outbox
from tui.demo.servers import ServerSpec, ServerThread

FIRST = Draft(to=("bob@example.org",), subject="First report", body="one\n")
SECOND = Draft(to=("carol@example.org",), subject="Second report", body="two\n")


async def test_retry_sends_only_the_entry_named(
    home: Path, servers: ServerThread, leak_guard: LeakGuard
) -> None:
    profile = await queue_while_down(home, servers, [FIRST, SECOND])
    first, second = Outbox().entries()
    assert (first.subject, second.subject) == ("First report", "Second report")
    back = servers.start(ServerSpec("isp"), port=profile.port)
    retried = run_cli(leak_guard, "outbox", "retry", second.id)
    assert retried.code == 0, retried.err
    assert f'{second.id} "Second report" is queued again' in retried.out
    assert [list(m.rcpt_tos) for m in back.messages] == [["carol@example.org"]]
    [left] = Outbox().entries()
    assert left.id == first.id and left.state_label == "queued"
    assert "still in the outbox" not in retried.err  # the one asked for went
    unknown = run_cli(leak_guard, "outbox", "retry", first.id, "no-such-entry")
    assert unknown.code == 64 and "there is no outbox entry no-such-entry" in unknown.err
    assert len(back.messages) == 1  # a mistyped id changes nothing, not even the good one


async def test_flush_names_each_failed_message_and_does_not_advise_a_flush(
    home: Path, servers: ServerThread, leak_guard: LeakGuard
) -> None:
    await queue_while_down(home, servers, [FIRST, SECOND])
    first, second = Outbox().entries()
    flushed = run_cli(leak_guard, "outbox", "flush")
    assert flushed.code == 75
    failures = [line for line in flushed.err.splitlines() if ": " in line and "report" in line]
    assert len(failures) == 2, flushed.err
    assert failures[0].startswith(f'mailtui: {first.id} "First report": ')
    assert failures[1].startswith(f'mailtui: {second.id} "Second report": ')
    assert "It stays queued for the next flush." in failures[0]
    assert "outbox flush" not in flushed.err


def test_outbox_help_says_what_each_action_does(home: Path, leak_guard: LeakGuard) -> None:
    helped = run_cli(leak_guard, "outbox", "--help")
    assert helped.code == 0
    lines = helped.out.splitlines()
    retry = next(line for line in lines if line.strip().startswith("retry ID"))
    delete = next(line for line in lines if line.strip().startswith("delete ID"))
    assert "send only" in retry and "for good" in delete
    listing = run_cli(leak_guard, "--help")
    assert "list, flush, retry, delete" in listing.out
