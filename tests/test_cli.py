"""`mailtui` on the command line, run as a user runs it: a subprocess against real servers."""

from __future__ import annotations

import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.conftest import (
    REPO,
    LeakGuard,
    Pki,
    isp_profile,
    portal_profile,
    run_cli,
    write_profile,
)
from tui.demo.servers import RunningServer, ServerThread


def test_send_with_transcript_through_starttls_and_auth(
    home: Path, portal_server: RunningServer, pki: Pki, leak_guard: LeakGuard, tmp_path: Path
) -> None:
    portal_profile(home, portal_server, pki)
    attachment = tmp_path / "photo.jpg"
    attachment.write_bytes(b"\xff\xd8\xff" + bytes(1000))
    result = run_cli(
        leak_guard,
        "send",
        "--profile",
        "portal",
        "--to",
        "bob@example.org",
        "--cc",
        "carol@example.org",
        "--bcc",
        "dave@example.org",
        "--subject",
        "Weekend",
        "--attach",
        str(attachment),
        "--transcript",
        stdin="See you on Saturday.\n",
    )
    assert result.code == 0, result.err
    assert "~> AUTH PLAIN ********" in result.err
    assert re.search(r"^\d\d:\d\d:\d\d\.\d{3} <~ 250 2\.0\.0 Ok: queued", result.err, re.M)
    assert "Sent to bob@example.org, carol@example.org, dave@example.org" in result.err
    [received] = portal_server.messages
    assert b"See you on Saturday." in received.content
    assert b"photo.jpg" in received.content


def test_relay_denied_exit_69_with_explanation(
    home: Path,
    isp_server: RunningServer,
    portal_server: RunningServer,
    pki: Pki,
    leak_guard: LeakGuard,
) -> None:
    isp_profile(home, isp_server, source_address="127.0.0.2")
    portal_profile(home, portal_server, pki)
    result = run_cli(
        leak_guard, "send", "--profile", "isp", "--to", "bob@example.org", "--subject", "Hi"
    )
    assert result.code == 69
    lines = result.err.strip().splitlines()
    assert len(lines) == 1  # one plain-language line
    assert "refused to relay" in lines[0]
    assert "Retry with Web Portal (profile portal)" in lines[0]


def test_bad_input_exit_65(home: Path, plain_server: RunningServer, leak_guard: LeakGuard) -> None:
    isp_profile(home, plain_server)
    result = run_cli(leak_guard, "send", "--profile", "isp", "--to", "bob", "--subject", "Hi")
    assert result.code == 65
    assert "the To address 'bob' has no @domain part" in result.err
    send = ("send", "--profile", "isp", "--to", "bob@example.org", "--subject", "Hi")
    folder = run_cli(leak_guard, *send, "--attach", str(home))
    assert folder.code == 65 and f"{home} is a folder; attach the files in it" in folder.err
    empty = run_cli(leak_guard, *send, "--attach", "")
    assert empty.code == 64 and "argument --attach: an empty file name" in empty.err
    assert plain_server.sink.connections == 0


def test_wrong_password_exit_77(
    home: Path, portal_server: RunningServer, pki: Pki, leak_guard: LeakGuard
) -> None:
    portal_profile(home, portal_server, pki, password="wrong")
    result = run_cli(
        leak_guard, "send", "--profile", "portal", "--to", "bob@example.org", "--subject", "s"
    )
    assert result.code == 77
    assert portal_server.sink.login_attempts == 1


def test_unknown_and_broken_profiles_exit_78(home: Path, leak_guard: LeakGuard) -> None:
    write_profile(
        home,
        "office",
        name="Office",
        host="smtp.x.example",
        security="none",
        **{"from": "j@x.example"},
    )
    (home / "profiles" / "broken.toml").write_text("name = \n")
    missing = run_cli(
        leak_guard, "send", "--profile", "ofice", "--to", "b@x.example", "--subject", "s"
    )
    assert missing.code == 78
    assert "did you mean office?" in missing.err
    app = run_cli(leak_guard, "--profile", "offise")  # the app, before it starts
    assert app.code == 78 and "there is no profile offise; did you mean office?" in app.err
    broken = run_cli(
        leak_guard, "send", "--profile", "broken", "--to", "b@x.example", "--subject", "s"
    )
    assert broken.code == 78
    assert "broken.toml" in broken.err and "not valid TOML" in broken.err
    listed = run_cli(leak_guard, "profiles")
    assert "office" in listed.out and "broken" in listed.out and "ERROR" in listed.out


def test_usage_error_exit_64(home: Path, leak_guard: LeakGuard) -> None:
    result = run_cli(leak_guard, "send", "--to", "b@x.example")
    assert result.code == 64
    assert "the following arguments are required: --profile, --subject" in result.err
    # Only the named command's parser is built; the others still list and catch mistakes.
    typo = run_cli(leak_guard, "sned")
    assert typo.code == 64 and "invalid choice: 'sned' (choose from 'send', 'check'," in typo.err
    typo = run_cli(leak_guard, "sendd", "--subject", "send")  # a command word further on
    assert typo.code == 64 and "(choose from 'send', 'check'," in typo.err
    for asked in (["--help"], ["--help", "send"], ["-h", "outbox"]):
        listing = run_cli(leak_guard, *asked)
        assert all(f"    {name} " in listing.out for name in ("send", "check", "outbox", "history"))
    send_help = run_cli(leak_guard, "send", "--help")
    assert "--subject TEXT" in send_help.out and "--attach FILE" in send_help.out
    history = run_cli(leak_guard, "history", "send")  # a command's name as another's argument
    assert "no attempt send" in history.err


def test_check_lists_offers_and_verdict(
    home: Path,
    portal_server: RunningServer,
    isp_server: RunningServer,
    pki: Pki,
    leak_guard: LeakGuard,
) -> None:
    portal_profile(home, portal_server, pki)
    good = run_cli(leak_guard, "check", "portal", "--rcpt", "bob@example.org")
    assert good.code == 0, good.err
    assert "Offers:   STARTTLS, AUTH " in good.out and "SMTPUTF8" in good.out
    assert "TLS:      TLSv1." in good.out
    assert "Verdict:  will work" in good.out
    assert portal_server.messages == []
    isp_profile(home, isp_server, source_address="127.0.0.2")
    bad = run_cli(leak_guard, "check", "isp", "--rcpt", "bob@example.org")
    assert bad.code == 69
    assert "Verdict:  will be refused" in bad.out


def test_check_calls_a_configuration_mistake_a_profile_error(
    home: Path, servers: ServerThread, pki: Pki, leak_guard: LeakGuard
) -> None:
    """An auth method the server does not offer is the profile's fault, not a refusal: the
    verdict says so and names the key to change."""
    from tests.scripted_server import dialogue, start_scripted

    plain_only = dialogue(tls_context=pki.server_context, tls_extensions=("AUTH PLAIN",))
    portal_profile(home, start_scripted(servers, plain_only), pki, auth="cram-md5")  # type: ignore[arg-type]
    checked = run_cli(leak_guard, "check", "portal")
    assert checked.code == 78, checked.out + checked.err
    assert "Verdict:  profile error: " in checked.out and "set auth in profile portal" in (
        checked.out
    )
    assert "will be refused" not in checked.out


def test_history_lists_attempts_and_shows_one(
    home: Path, plain_server: RunningServer, leak_guard: LeakGuard
) -> None:
    isp_profile(home, plain_server)
    run_cli(leak_guard, "send", "--profile", "isp", "--to", "bob@example.org", "--subject", "First")
    run_cli(
        leak_guard, "send", "--profile", "isp", "--to", "bob@example.org", "--subject", "Second"
    )
    listing = run_cli(leak_guard, "history")
    lines = listing.out.strip().splitlines()
    assert len(lines) == 2
    assert "Second" in lines[0] and "First" in lines[1]  # newest first
    shown = run_cli(leak_guard, "history", "2")
    assert "sent with isp" in shown.out
    assert "-> RCPT TO:<bob@example.org>" in shown.out


def run_python(leak_guard: LeakGuard, code: str) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter, as the installed `mailtui` would start."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    leak_guard.add(done.stdout + done.stderr)
    return done


def test_headless_commands_never_import_textual(
    home: Path, plain_server: RunningServer, leak_guard: LeakGuard
) -> None:
    isp_profile(home, plain_server)
    code = (
        "import sys\n"
        "import tui.core.sending, tui.core.profiles, tui.core.diagnosis, tui.demo.servers\n"
        "from tui.cli import main\n"
        "rc = main(['send', '--profile', 'isp', '--to', 'bob@example.org', '--subject', 's',"
        " '--body-file', '/dev/null'])\n"
        "assert rc == 0, rc\n"
        "rc = main(['profiles'])\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print('TEXTUAL:', bad)\n"
    )
    done = run_python(leak_guard, code)
    assert done.returncode == 0, done.stderr
    assert "TEXTUAL: []" in done.stdout
    assert len(plain_server.messages) == 1


def test_collection_paused_while_loading_resumes_for_the_work(
    home: Path, plain_server: RunningServer, leak_guard: LeakGuard
) -> None:
    isp_profile(home, plain_server)
    code = (
        "import gc, sys\n"
        "import tui.core.sending\n"
        "seen, send = [], tui.core.sending.Attempt.send\n"
        "async def watched(*args, **kwargs):\n"
        "    seen.append(gc.isenabled())\n"
        "    return await send(*args, **kwargs)\n"
        "tui.core.sending.Attempt.send = watched\n"
        "sys.argv = ['mailtui', 'send', '--profile', 'isp', '--to', 'bob@example.org',"
        " '--subject', 's', '--body-file', '/dev/null']\n"
        "from tui.__main__ import run\n"
        "rc = run()\n"
        "print('RC', rc, 'COLLECTING', seen, gc.isenabled(), 'FROZEN', gc.get_freeze_count() > 0)\n"
    )
    done = run_python(leak_guard, code)
    assert "RC 0 COLLECTING [True] True FROZEN True" in done.stdout, done.stdout + done.stderr


def _interrupted_send(home: Path, body: str, delay: float) -> tuple[int, str, float]:
    """`mailtui send` to a server that accepts the connection and never greets, SIGINT `delay`
    seconds after it says "connecting". Returns its exit code, its stderr and how long it
    took to end after the SIGINT. Every wait is bounded: a lost Ctrl-C fails, never hangs."""
    with socket.socket() as silent:  # accepts connections (the kernel does) and never greets
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        write_profile(
            home,
            "mute",
            name="Mute",
            **{"from": "jane@isp.example"},
            host="127.0.0.1",
            port=silent.getsockname()[1],
            security="none",
            timeout=30,
        )
        send = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tui",
                "send",
                "--profile",
                "mute",
                "--to",
                "bob@example.org",
                "--subject",
                "Saturday",
                "--transcript",
            ],
            stdin=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        assert send.stdin is not None and send.stderr is not None
        lines: queue.Queue[str] = queue.Queue()
        reader = threading.Thread(target=lambda: [lines.put(line) for line in send.stderr or ()])
        reader.start()
        try:
            send.stdin.write(body)
            send.stdin.close()
            first = lines.get(timeout=30)
            assert "connecting to 127.0.0.1" in first, first
            time.sleep(delay)
            send.send_signal(signal.SIGINT)
            interrupted = time.monotonic()
            code = send.wait(timeout=20)  # far less than the profile's 30 s
            took = time.monotonic() - interrupted
        finally:
            send.kill()
            send.wait()
            reader.join()
    rest = [lines.get_nowait() for _ in range(lines.qsize())]
    return code, first + "".join(rest), took


def test_ctrl_c_while_sending_keeps_the_message_in_drafts(
    home: Path, leak_guard: LeakGuard
) -> None:
    code, err, took = _interrupted_send(home, "Only in this pipe.\n", 0.3)
    leak_guard.add(err)
    assert code == 130 and took < 5, err
    assert "Interrupted; the message was not sent. The message was saved to drafts:" in err
    [draft] = (home / "drafts" / "new").iterdir()
    assert b"Only in this pipe." in draft.read_bytes() and b"Saturday" in draft.read_bytes()
    assert not list((home / "outbox" / "new").iterdir())


def test_ctrl_c_is_never_lost_whenever_it_comes_after_connecting(
    home: Path, leak_guard: LeakGuard
) -> None:
    """At once, and at delays that land in the connection, the wait for the greeting and
    anywhere between (a Ctrl-C once waited for the server's 30 s timeout instead)."""
    for run, delay in enumerate((0.0, 0.0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05)):
        body = f"Run {run}, Ctrl-C after {delay * 1000:g} ms.\n"
        code, err, took = _interrupted_send(home, body, delay)
        leak_guard.add(err)
        assert (code, took < 5) == (130, True), f"after {delay * 1000:g} ms: {err}"
        assert "The message was saved to drafts:" in err
    drafts = sorted(p.read_bytes() for p in (home / "drafts" / "new").iterdir())
    assert len(drafts) == run + 1 and all(b"Ctrl-C after" in d for d in drafts)
    assert not list((home / "outbox" / "new").iterdir())


def _send_endless_body(leak_guard: LeakGuard, *extra: str) -> subprocess.CompletedProcess[str]:
    with open("/dev/zero", "rb") as zero:
        done = subprocess.run(
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
                "Endless",
                *extra,
            ],
            stdin=zero,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=REPO,
        )
    leak_guard.add(done.stdout)
    leak_guard.add(done.stderr)
    return done


def test_an_endless_body_is_refused_at_the_documented_maximum(
    home: Path, plain_server: RunningServer, leak_guard: LeakGuard
) -> None:
    """`--body-file /dev/zero` or a runaway pipe on stdin: read in pieces up to 100 MB, then
    refused with exit 65 (bad message input), without filling the memory or sending."""
    isp_profile(home, plain_server)
    for extra in (("--body-file", "/dev/zero"), ()):
        done = _send_endless_body(leak_guard, *extra)
        assert done.returncode == 65, done.stderr
        assert "longer than 100 MB" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
    assert plain_server.messages == []
    assert "100 MB" in (REPO / "README.md").read_text()


def test_an_attachment_that_fails_to_read_is_named_not_the_outbox(
    home: Path, plain_server: RunningServer, leak_guard: LeakGuard
) -> None:
    """/proc/self/mem is a regular file that opens but cannot be read (EIO): the error names
    the attachment and its problem (exit 65), not the outbox folder, which is fine."""
    isp_profile(home, plain_server)
    result = run_cli(
        leak_guard,
        "send",
        "--profile",
        "isp",
        "--to",
        "bob@example.org",
        "--subject",
        "Unreadable",
        "--attach",
        "/proc/self/mem",
    )
    assert result.code == 65, result.err
    assert "/proc/self/mem could not be read (Input/output error)" in result.err, result.err
    assert "outbox" not in result.err
    assert "saved to drafts" in result.err
    assert plain_server.messages == []
    assert not list((home / "outbox" / "new").iterdir())


def test_send_with_a_terminal_on_stdin_says_how_to_end_the_message(
    home: Path, plain_server: RunningServer, leak_guard: LeakGuard
) -> None:
    import os
    import pty

    isp_profile(home, plain_server)
    terminal, stdin = pty.openpty()
    command = [sys.executable, "-m", "tui", "send", "--profile", "isp", "--to", "bob@example.org"]
    process = subprocess.Popen(
        [*command, "--subject", "Typed"],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )
    os.close(stdin)
    try:
        os.write(terminal, b"Typed at the keyboard.\n\x04")  # a line, then Ctrl-D
        _out, err = process.communicate(timeout=60)
    finally:
        os.close(terminal)
    leak_guard.add(err.decode())
    assert process.returncode == 0, err
    assert err.decode().startswith("Type the message, then press Ctrl-D on a new line.\n")
    [received] = plain_server.messages
    assert b"Typed at the keyboard." in received.content
    # Piped, nothing is said: the hint is for a person at a terminal.
    piped = run_cli(
        leak_guard, "send", "--profile", "isp", "--to", "bob@example.org", "--subject", "Piped"
    )
    assert piped.code == 0 and "Ctrl-D" not in piped.err


def test_history_marks_checks_as_checks(
    home: Path, plain_server: RunningServer, leak_guard: LeakGuard
) -> None:
    isp_profile(home, plain_server)
    run_cli(leak_guard, "send", "--profile", "isp", "--to", "bob@example.org", "--subject", "Sent")
    run_cli(leak_guard, "check", "isp", "--rcpt", "carol@example.org")
    checked, sent = run_cli(leak_guard, "history").out.splitlines()
    assert re.search(r"  check +isp +would-work ", checked), checked
    assert re.search(r"  send +isp +sent ", sent), sent
    assert run_cli(leak_guard, "history", "1").out.startswith("Check ")
    assert run_cli(leak_guard, "history", "2").out.startswith("Send ")


def test_profiles_lists_every_fault_of_a_file(home: Path, leak_guard: LeakGuard) -> None:
    write_profile(
        home,
        "office",
        name="Office",
        host="smtp.x.example",
        security="startls",
        port=70000,
        usrename="jane",
        **{"from": "j@x.example"},
    )
    listed = run_cli(leak_guard, "profiles")
    assert listed.code == 78
    errors = [line for line in listed.out.splitlines() if line.startswith("office ")]
    path = home / "profiles" / "office.toml"
    assert errors == [
        f"office           ERROR {path}, key 'usrename': unknown key; did you mean 'username'?",
        f"office           ERROR {path}, key 'security': must be one of none, starttls, tls; "
        'did you mean "starttls"?',
        f"office           ERROR {path}, key 'port': must be a whole number from 1 to 65535",
    ]
    send = run_cli(
        leak_guard, "send", "--profile", "office", "--to", "b@x.example", "--subject", "s"
    )
    assert send.code == 78 and send.err.count("profile office cannot be used: ") == 3
