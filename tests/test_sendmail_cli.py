"""`mailtui-sendmail` run as mail programs run it, against real servers on loopback: the
message arrives as written, the right profile sends it, and a failure is said and kept (or
not) as the options ask."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, CliResult, LeakGuard, Pki, isp_profile, portal_profile, run_cli
from tests.scripted_server import ScriptedServer, dialogue, start_scripted
from tui.core.history import list_attempts
from tui.core.outbox import Outbox
from tui.demo.servers import RunningServer, ServerSpec, ServerThread

SENDMAIL = Path(sys.executable).parent / "mailtui-sendmail"

MESSAGE = (
    b"From: Jane Doe <jane@isp.example>\n"
    b"To: Bob <bob@example.org>\n"
    b"Cc: carol@example.org\n"
    b"Bcc: secret@example.org\n"
    b"Subject: [PATCH 1/1] fix the thing\n"
    b"Message-ID: <20261130.1@isp.example>\n"
    b"Date: Mon, 30 Nov 2026 10:00:00 +0000\n"
    b"\n"
    b"Body line\n"
    b".a line that starts with a dot\n"
)


def sendmail(
    guard: LeakGuard, *args: str, stdin: bytes = MESSAGE, env: dict[str, str] | None = None
) -> CliResult:
    """Run the `mailtui-sendmail` program the project installs, as a mail program does."""
    return run_cli(guard, *args, stdin=stdin, env=env, program=(str(SENDMAIL),))


def test_the_message_arrives_as_written_without_its_bcc(
    home: Path, plain_server: RunningServer, leak_guard: LeakGuard
) -> None:
    isp_profile(home, plain_server)
    done = sendmail(leak_guard, "-oem", "-oi", "-t")
    assert done.code == 0, done.err
    [got] = plain_server.messages
    assert got.mail_from == "jane@isp.example"
    assert got.rcpt_tos == ("bob@example.org", "carol@example.org", "secret@example.org")
    expected = MESSAGE.replace(b"Bcc: secret@example.org\n", b"").replace(b"\n", b"\r\n")
    assert got.content == expected  # byte for byte: nothing added, the dot unstuffed again
    [attempt] = list_attempts()
    assert attempt.kind == "sendmail" and attempt.outcome == "sent"


def test_a_recipient_on_the_command_line_only(
    home: Path, plain_server: RunningServer, leak_guard: LeakGuard
) -> None:
    isp_profile(home, plain_server)
    done = sendmail(leak_guard, "-i", "dave@example.org")
    assert done.code == 0, done.err
    assert plain_server.messages[0].rcpt_tos == ("dave@example.org",)


def test_a_temporary_failure_is_not_kept_unless_asked(
    home: Path, servers: ServerThread, leak_guard: LeakGuard
) -> None:
    """As msmtp: the calling program holds the message. With --queue, the outbox does, and
    `sendmail -q` sends it once the server is back."""
    running = servers.start(ServerSpec("isp"))
    servers.stop(running)
    isp_profile(home, running, timeout=3)
    failed = sendmail(leak_guard, "-t")
    assert failed.code == 75, failed.err
    assert "Nothing was kept: the program that handed it over still has it" in failed.err
    assert Outbox().entries() == []
    queued = sendmail(leak_guard, "--queue", "-t")
    assert queued.code == 0, queued.err
    [entry] = Outbox().entries()
    assert f"queued: {entry.id}" in queued.err and "mailtui sendmail -q" in queued.err
    listed = sendmail(leak_guard, "-bp", stdin=b"")
    assert listed.code == 0 and entry.id in listed.out and "[PATCH 1/1]" in listed.out
    back = servers.start(ServerSpec("isp"), port=running.port)
    flushed = sendmail(leak_guard, "-q", stdin=b"")
    assert flushed.code == 0, flushed.err
    assert [m.rcpt_tos for m in back.messages] == [
        ("bob@example.org", "carol@example.org", "secret@example.org")
    ]
    assert b"secret@" not in back.messages[0].content
    assert Outbox().entries() == []


def test_odq_queues_without_trying(
    home: Path, plain_server: RunningServer, leak_guard: LeakGuard
) -> None:
    isp_profile(home, plain_server)
    queued = sendmail(leak_guard, "-odq", "-t")
    assert queued.code == 0 and "queued:" in queued.err
    assert plain_server.messages == [] and len(Outbox().entries()) == 1
    assert sendmail(leak_guard, "-q", stdin=b"").code == 0
    assert len(plain_server.messages) == 1


def test_config_toml_asks_for_the_queue(
    home: Path, servers: ServerThread, leak_guard: LeakGuard
) -> None:
    running = servers.start(ServerSpec("isp"))
    servers.stop(running)
    isp_profile(home, running, timeout=3)
    (home / "config.toml").write_text("sendmail_queue = true\n")
    assert sendmail(leak_guard, "-t").code == 0
    assert len(Outbox().entries()) == 1
    (home / "config.toml").write_text("sendmail_qeue = true\n")
    broken = sendmail(leak_guard, "-t")
    assert broken.code == 78 and "sendmail_queue" in broken.err  # did you mean


def test_eight_bit_text_to_a_server_without_8bitmime_is_refused_not_changed(
    home: Path, servers: ServerThread, leak_guard: LeakGuard
) -> None:
    server = start_scripted(servers, dialogue(extensions=("SIZE 10240000",)))
    isp_profile(home, server)  # type: ignore[arg-type]
    done = sendmail(
        leak_guard,
        "-f",
        "jane@isp.example",
        "bob@example.org",
        stdin="Subject: x\n\nGrüße\n".encode(),
    )
    assert done.code == 65, done.err
    assert "8-bit text and the server does not offer 8BITMIME" in done.err
    assert server.messages == 0 and Outbox().entries() == []


def _commands(server: ScriptedServer, verb: bytes) -> list[bytes]:
    return [line for line in server.received if line.upper().startswith(verb)]


def test_dsn_is_passed_only_when_offered(
    home: Path, servers: ServerThread, leak_guard: LeakGuard
) -> None:
    offering = start_scripted(servers, dialogue(extensions=("8BITMIME", "DSN")))
    isp_profile(home, offering)  # type: ignore[arg-type]
    args = (
        "-f",
        "jane@isp.example",
        "-N",
        "success,failure",
        "-R",
        "hdrs",
        "-V",
        "id+1",
        "bob@example.org",
    )
    assert sendmail(leak_guard, *args).code == 0
    assert _commands(offering, b"MAIL")[0].rstrip() == (
        b"MAIL FROM:<jane@isp.example> BODY=8BITMIME RET=HDRS ENVID=id+2B1"
    )
    assert _commands(offering, b"RCPT")[0].rstrip() == (
        b"RCPT TO:<bob@example.org> NOTIFY=SUCCESS,FAILURE"
    )
    silent = start_scripted(servers, dialogue(extensions=("8BITMIME",)))
    isp_profile(home, silent)  # type: ignore[arg-type]
    assert sendmail(leak_guard, *args).code == 0
    assert b"NOTIFY" not in b"".join(silent.received)
    assert b"RET=" not in b"".join(silent.received)


def test_a_stream_without_end_stops_at_the_limit(
    home: Path, plain_server: RunningServer, leak_guard: LeakGuard
) -> None:
    isp_profile(home, plain_server)
    done = run_cli(
        leak_guard,
        "-c",
        f"exec {SENDMAIL} bob@example.org < /dev/zero",
        program=("sh",),
    )
    assert done.code == 65 and "longer than 160 MB" in done.err
    assert plain_server.messages == [] and Outbox().entries() == []


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("-x", "bob@example.org"), "unknown option -x"),
        (("-bs",), "-bs is not supported"),
        (("-N", "always", "bob@example.org"), "-N always"),
    ],
)
def test_a_bad_option_exits_64_naming_it(
    home: Path, leak_guard: LeakGuard, args: tuple[str, ...], said: str
) -> None:
    done = sendmail(leak_guard, *args)
    assert done.code == 64 and said in done.err


def test_help_lists_the_options_it_ignores(home: Path, leak_guard: LeakGuard) -> None:
    done = sendmail(leak_guard, "--help", stdin=b"")
    assert done.code == 0
    for shown in ("-t, --read-recipients", "-odq", "-bp", "-oem", "-B type", "--auto-switch"):
        assert shown in done.out
    via_mailtui = subprocess.run(
        [sys.executable, "-m", "tui", "sendmail", "--help"], capture_output=True, cwd=REPO
    )
    assert via_mailtui.stdout.decode() == done.out


def test_a_bad_message_exits_65_and_sends_nothing(
    home: Path, plain_server: RunningServer, leak_guard: LeakGuard
) -> None:
    isp_profile(home, plain_server)
    for stdin, said in (
        (b"", "empty"),
        (b"Subject: x\n\nno one to send to\n", "no recipient"),
        (b"Subject: a\x00b\nTo: b@example.org\n\nx\n", "NUL byte"),
    ):
        done = sendmail(leak_guard, "-t", stdin=stdin)
        assert done.code == 65 and said in done.err, done.err
    assert plain_server.messages == [] and Outbox().entries() == []


def test_profiles_are_chosen_by_address_then_default(
    home: Path, servers: ServerThread, leak_guard: LeakGuard
) -> None:
    isp, work, default = (servers.start(ServerSpec(name)) for name in ("isp", "work", "dflt"))
    isp_profile(home, isp, "isp")
    isp_profile(home, work, "work", **{"from": "Jane <jane@work.example>"},
                addresses=["*@work.example"])  # fmt: skip
    isp_profile(home, default, "cron", **{"from": "cron@host.example"}, default=True)
    for sender, server in (
        ("jane@isp.example", isp),
        ("jane@work.example", work),
        ("builds@work.example", work),
        ("root@elsewhere.example", default),
    ):
        message = f"From: {sender}\nTo: bob@example.org\nSubject: from {sender}\n\nhi\n"
        done = sendmail(leak_guard, "-t", stdin=message.encode())
        assert done.code == 0, done.err
        assert server.messages[-1].mail_from == sender
    # cron: no From at all, -F names it, the default profile adds From, Date and Message-ID
    done = sendmail(leak_guard, "-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root@host.example",
                    stdin=b"Subject: Cron <root@host> backup\n\nbackup done\n")  # fmt: skip
    assert done.code == 0, done.err
    got = default.messages[-1]
    assert got.mail_from == "cron@host.example"
    head = got.content.split(b"\r\n\r\n")[0].decode()
    assert "From: CronDaemon <cron@host.example>" in head
    assert "\r\nDate: " in head and "\r\nMessage-ID: <" in head and "@host.example>" in head


def test_no_profile_fits_exit_78_listing_them(
    home: Path, plain_server: RunningServer, leak_guard: LeakGuard
) -> None:
    isp_profile(home, plain_server)
    done = sendmail(leak_guard, "-t", stdin=b"From: x@y.example\nTo: b@c.example\n\nhi\n")
    assert done.code == 78
    assert "x@y.example" in done.err and "isp" in done.err and "-a" in done.err
    forced = sendmail(
        leak_guard, "-a", "isp", "-t", stdin=b"From: x@y.example\nTo: b@c.example\n\nhi\n"
    )
    assert forced.code == 0 and plain_server.messages[0].mail_from == "x@y.example"


def test_outside_its_networks_it_warns_and_auto_switch_takes_the_profile_that_works(
    home: Path,
    plain_server: RunningServer,
    portal_server: RunningServer,
    pki: Pki,
    leak_guard: LeakGuard,
) -> None:
    """The ISP profile trusts only 10.9.9.0/24; this machine is elsewhere. With
    --auto-switch the portal profile, which sends for the same address, takes the message;
    without, it warns and tries anyway."""
    isp_profile(home, plain_server, networks=["10.9.9.0/24"])
    portal_profile(home, portal_server, pki, addresses=["jane@isp.example"])
    switched = sendmail(leak_guard, "-a", "isp", "--auto-switch", "-t")
    assert switched.code == 0, switched.err
    assert "Sending with Web Portal instead (--auto-switch)." in switched.err
    assert plain_server.messages == []
    warned = sendmail(leak_guard, "-a", "isp", "-t")
    assert warned.code == 0, warned.err
    assert "warning:" in warned.err and "Trying anyway." in warned.err
    assert len(plain_server.messages) == 1
    [got] = portal_server.messages
    assert got.mail_from == "jane@isp.example" and got.authenticated_as == "jane"


def test_quiet_when_it_went_as_sendmail_is_and_the_transcript_with_v(
    home: Path, plain_server: RunningServer, leak_guard: LeakGuard
) -> None:
    isp_profile(home, plain_server)
    quiet = sendmail(leak_guard, "-t")
    assert quiet.code == 0 and quiet.err == "" and quiet.out == ""
    verbose = sendmail(leak_guard, "-v", "-t")
    assert verbose.code == 0
    assert "-> MAIL FROM:<jane@isp.example>" in verbose.err and "Sent to " in verbose.err
