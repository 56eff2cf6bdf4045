"""Pipelining (RFC 2920) and chunking (RFC 3030) against servers that get it right and wrong.

For each: the transcript shows every command and reply in order, a message is accepted only
by the reply to its end of data, and a group cut off after the end of the message has left
is "outcome unknown" (kept, never resent by itself).
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Transcript, isp_profile
from tests.scripted_server import ScriptedServer, dialogue, start_scripted
from tui.core import sending
from tui.core.message import Draft, compose, prepare
from tui.core.outbox import Outbox
from tui.core.profiles import Profile, load_profile
from tui.core.results import Outcome
from tui.demo.servers import ServerThread

CHUNKING = ("PIPELINING", "SIZE 10240000", "8BITMIME", "CHUNKING")
THREE = Draft(
    to=("bob@example.org", "ghost@example.org", "carol@example.net"),
    subject="Pipelined",
    body=".a line that starts with a dot\n.\nand the end\n",
)


def _isp(home: Path, server: ScriptedServer) -> Profile:
    return load_profile(isp_profile(home, server, timeout=1.0))  # type: ignore[arg-type]


def _group(transcript: Transcript) -> list[str]:
    """The client and server lines from the pipelining note on, without their times."""
    lines = [line.split(" ", 1)[1] for line in transcript.lines]
    start = next(i for i, line in enumerate(lines) if "pipelining" in line)
    return [line for line in lines[start + 1 :] if line[:2] in ("->", "<-")]


async def test_envelope_and_data_go_in_one_group_with_partial_refusal(
    home: Path, servers: ServerThread, transcript: Transcript
) -> None:
    server = start_scripted(servers, dialogue({"RCPT ghost@example.org": "550 5.1.1 unknown"}))
    result = await sending.send(_isp(home, server), THREE, listener=transcript, probe=())
    assert result.outcome is Outcome.PARTIAL and server.messages == 1
    assert [(r.address, r.code) for r in result.recipients] == [
        ("bob@example.org", 250),
        ("ghost@example.org", 550),
        ("carol@example.net", 250),
    ]
    assert _group(transcript)[:10] == [
        "-> MAIL FROM:<jane@isp.example> SIZE=" + _group(transcript)[0].split("SIZE=")[1],
        "-> RCPT TO:<bob@example.org>",
        "-> RCPT TO:<ghost@example.org>",
        "-> RCPT TO:<carol@example.net>",
        "-> DATA",
        "<- 250 2.1.0 Ok",
        "<- 250 2.1.5 Ok",
        "<- 550 5.1.1 unknown",
        "<- 250 2.1.5 Ok",
        "<- 354 End data with <CR><LF>.<CR><LF>",
    ]


async def test_chunking_sends_the_message_as_bdat_last_with_its_envelope(
    home: Path, servers: ServerThread, transcript: Transcript
) -> None:
    server = start_scripted(servers, dialogue(extensions=CHUNKING))
    result = await sending.send(_isp(home, server), THREE, listener=transcript, probe=())
    assert result.outcome is Outcome.SENT and server.messages == 1
    commands = [c.split(" ")[0] for c in server.commands() if c[:4] in ("MAIL", "RCPT", "BDAT")]
    assert commands == ["MAIL", "RCPT", "RCPT", "RCPT", "BDAT"]
    [chunk] = server.chunks
    assert b"\r\n.a line that starts with a dot\r\n.\r\n" in chunk  # as it is: no dot-stuffing
    assert "DATA" not in server.commands()
    group = _group(transcript)
    assert group[4] == f"-> BDAT {len(chunk)} LAST"
    assert group[5].startswith("-> [message: ")
    assert group[6:12] == [
        "<- 250 2.1.0 Ok",
        "<- 250 2.1.5 Ok",
        "<- 250 2.1.5 Ok",
        "<- 250 2.1.5 Ok",
        "<- 250 2.0.0 Ok: queued as 4F2A1",
        "-> QUIT",
    ]  # QUIT's reply is shown when it comes within its grace, on a busy machine maybe not


async def test_bdat_refused_after_chunking_was_offered(
    home: Path, servers: ServerThread, transcript: Transcript
) -> None:
    server = start_scripted(
        servers, dialogue({"BDAT": "554 5.6.0 Message content rejected"}, extensions=CHUNKING)
    )
    result = await sending.send(_isp(home, server), THREE, listener=transcript, probe=())
    assert result.outcome is Outcome.REFUSED and server.messages == 0
    assert "554 5.6.0 Message content rejected" in result.summary
    assert Outbox().entries() == []  # refused: given back, not kept to be resent


async def test_421_in_the_middle_of_a_group_before_the_end_of_data(
    home: Path, servers: ServerThread, transcript: Transcript
) -> None:
    server = start_scripted(servers, dialogue({"RCPT": ["250 2.1.5 Ok", "421 4.3.2 Bye", "drop"]}))
    result = await sending.send(_isp(home, server), THREE, listener=transcript, probe=())
    assert result.outcome is Outcome.TEMPORARY and server.messages == 0
    [entry] = Outbox().entries()
    assert entry.state == "queued"  # the message never left: tried again later


async def test_421_in_the_middle_of_a_group_after_bdat_last_left_is_of_unknown_outcome(
    home: Path, servers: ServerThread, transcript: Transcript
) -> None:
    server = start_scripted(
        servers,
        dialogue({"RCPT": ["250 2.1.5 Ok", "421 4.3.2 Bye", "drop"]}, extensions=CHUNKING),
    )
    result = await sending.send(_isp(home, server), THREE, listener=transcript, probe=())
    assert result.outcome is Outcome.UNKNOWN
    [entry] = Outbox().entries()
    assert entry.state == "unknown"  # never resent by itself


async def test_a_reply_too_many_in_a_group_is_caught(
    home: Path, servers: ServerThread, transcript: Transcript
) -> None:
    """MAIL answered twice: the extra is taken for RCPT's, and RCPT's for DATA's -- a 250
    cannot answer DATA, so the group is out of step and nothing is sent."""
    server = start_scripted(servers, dialogue({"MAIL": b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"}))
    draft = Draft(to=("bob@example.org",), subject="Pipelined", body="Hello\n")
    result = await sending.send(_isp(home, server), draft, listener=transcript, probe=())
    assert result.outcome is Outcome.FAILED and server.messages == 0
    assert "out of step" in transcript.text


async def test_a_reply_too_many_after_bdat_last_makes_the_outcome_unknown(
    home: Path, servers: ServerThread, transcript: Transcript
) -> None:
    server = start_scripted(
        servers,
        dialogue({"DATA_END": b"250 2.0.0 Ok\r\n250 2.0.0 Ok again\r\n"}, extensions=CHUNKING),
    )
    draft = Draft(to=("bob@example.org",), subject="Pipelined", body="Hello\n")
    result = await sending.send(_isp(home, server), draft, listener=transcript, probe=())
    assert result.outcome is Outcome.UNKNOWN
    assert "answered more often than it was asked" in transcript.text


async def _flush_three(profile: Profile, transcript: Transcript) -> sending.FlushResult:
    """Queue three messages for `profile`, then flush them."""
    box = Outbox()
    for number in range(3):
        draft = Draft(to=("bob@example.org",), subject=f"Queued {number}", body="Hello\n")
        box.queue(prepare(compose(profile.from_, draft)), profile.id, sync=False)
    return await sending.flush(profile, listener=transcript, probe=())


async def test_a_flush_pipelines_rset_with_each_next_message(
    home: Path, servers: ServerThread, transcript: Transcript
) -> None:
    server = start_scripted(servers, dialogue(extensions=CHUNKING))
    flushed = await _flush_three(_isp(home, server), transcript)
    assert flushed.sent == 3 and server.messages == 3 and server.connections == 1
    verbs = [c.split(" ")[0] for c in server.commands()]
    assert verbs == ["EHLO", *["MAIL", "RCPT", "BDAT", "RSET"] * 2, "MAIL", "RCPT", "BDAT", "QUIT"]
    notes = [line for line in transcript.lines if "pipelining" in line]
    assert [("RSET" in line) for line in notes] == [False, True, True]


async def test_data_taken_although_every_recipient_was_refused_sends_nothing(
    home: Path, servers: ServerThread, transcript: Transcript
) -> None:
    """DATA went with the envelope; a server that answers it 354 with nobody to deliver to
    would take whatever followed as a message: the connection is closed instead."""
    server = start_scripted(
        servers, dialogue({"RCPT": "550 5.1.1 User unknown", "DATA": "354 go ahead"})
    )
    result = await sending.send(_isp(home, server), THREE, listener=transcript, probe=())
    assert result.outcome is Outcome.REFUSED and server.messages == 0
    assert "accepted DATA although it refused the envelope" in transcript.text
    assert "QUIT" not in server.commands() and server.body_bytes == 0  # nothing after 354


async def test_a_421_in_a_flush_keeps_the_rest_for_later(
    home: Path, servers: ServerThread, transcript: Transcript
) -> None:
    """The second message's group meets a 421 (the server is closing): the first stays
    sent, the second and third are kept queued, none is sent twice."""
    server = start_scripted(
        servers, dialogue({"RCPT": ["250 2.1.5 Ok", "421 4.3.2 Shutting down", "drop"]})
    )
    flushed = await _flush_three(_isp(home, server), transcript)
    assert flushed.sent == 1 and server.messages == 1
    assert sorted(e.subject for e in Outbox().entries()) == ["Queued 1", "Queued 2"]
    assert {e.state for e in Outbox().entries()} == {"queued"}
    assert "internal error" not in transcript.text
