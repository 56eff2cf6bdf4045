"""The warm `mailtui-sendmail` (tui/warm.py, tui/warm_serving.py): after one call has sent,
the next call with the same environment hands its message to the process that stayed, and
gets the same outcome, words and exit code a cold start would have given. Every test runs
the installed program against real servers on loopback, with its own socket folder.

A probe (`hand_over` alone, in a subprocess of the same program, environment and working
directory) tells whether a call was served warm: it prints [warm] only when the warm side
answered, since it never sends anything itself.
"""

from __future__ import annotations

import os
import pty
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, USER, LeakGuard, Pki, isp_profile, run_cli
from tests.scripted_server import dialogue, start_scripted
from tests.test_sendmail_cli import MESSAGE, sendmail
from tui.core.outbox import Outbox
from tui.demo.servers import RunningServer, ServerThread

PROBE = (
    "import sys\n"
    "from tui.warm import hand_over\n"
    "code, rest = hand_over(sys.argv[1:])\n"
    "print('[warm]' if code is not None else '[cold]', flush=True)\n"
    "sys.exit(code or 0)\n"
)


@pytest.fixture
def runtime(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A short socket folder of the test's own (a socket's path has at most 107 bytes), and
    warm processes that leave three seconds after their last message."""
    folder = Path(tempfile.mkdtemp(prefix="w", dir="/tmp"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    (home / "config.toml").write_text("sendmail_linger = 3\n")
    yield folder / f"mailtui-{os.getuid()}"
    for pid in _warm_pids(folder):
        os.kill(pid, signal.SIGKILL)
    shutil.rmtree(folder, ignore_errors=True)


def probe(
    guard: LeakGuard, *args: str, stdin: bytes = MESSAGE, env: dict[str, str] | None = None
) -> tuple[str, int, str]:
    """(warm or cold, exit code, standard error) of a call handed over by `hand_over` only."""
    done = run_cli(guard, *args, stdin=stdin, env=env, program=(sys.executable, "-c", PROBE))
    where = "warm" if done.out.rstrip().endswith("[warm]") else "cold"
    return where, done.code, done.err


def _probe_running(*args: str) -> subprocess.Popen[bytes]:
    """The probe started, its input still open: for a test that acts while it runs."""
    return subprocess.Popen(
        [sys.executable, "-c", PROBE, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env=dict(os.environ),  # as run_cli: the process's own may differ (COLUMNS, LINES)
    )


def _warm_pids(folder: Path) -> list[int]:
    """The processes listening on a socket in `folder` (from /proc/net/unix)."""
    inodes = set()
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 8 and fields[7].startswith(str(folder)):
            inodes.add(f"socket:[{fields[6]}]")
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            links = {os.readlink(fd) for fd in (entry / "fd").iterdir()}
        except OSError:
            continue
        if links & inodes:
            pids.append(int(entry.name))
    return pids


def _sockets(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.sock")) if folder.is_dir() else []


def test_the_next_call_is_handed_to_the_warm_process_and_arrives_as_written(
    home: Path, runtime: Path, plain_server: RunningServer, leak_guard: LeakGuard
) -> None:
    isp_profile(home, plain_server)
    assert sendmail(leak_guard, "-t").code == 0  # cold: it sends, then stays
    assert len(_sockets(runtime)) == 1
    assert runtime.stat().st_mode & 0o777 == 0o700
    where, code, err = probe(leak_guard, "-t")
    assert (where, code) == ("warm", 0), err
    assert sendmail(leak_guard, "-t").code == 0
    first, second, third = plain_server.messages
    expected = MESSAGE.replace(b"Bcc: secret@example.org\n", b"").replace(b"\n", b"\r\n")
    for got in (first, second, third):
        assert got.content == expected
        assert got.rcpt_tos == ("bob@example.org", "carol@example.org", "secret@example.org")
    assert Outbox().entries() == []


def test_a_refusal_has_the_same_words_and_exit_code_warm_as_cold(
    home: Path, runtime: Path, servers: ServerThread, leak_guard: LeakGuard
) -> None:
    refusing = start_scripted(
        servers, dialogue({"RCPT": "554 5.7.1 <bob@example.org>: Relay access denied"})
    )
    isp_profile(home, refusing, networks=["127.0.0.0/8"])  # type: ignore[arg-type]
    cold = sendmail(leak_guard, "bob@example.org", stdin=MESSAGE)
    where, code, err = probe(leak_guard, "bob@example.org")
    assert where == "warm"
    assert (code, err) == (cold.code, cold.err)
    assert code == 69 and "relay" in err.lower()


def test_the_transcript_of_v_comes_through_as_it_happens(
    home: Path, runtime: Path, plain_server: RunningServer, leak_guard: LeakGuard
) -> None:
    isp_profile(home, plain_server)
    assert sendmail(leak_guard, "-t").code == 0
    where, code, err = probe(leak_guard, "-v", "-t")
    assert (where, code) == ("warm", 0)
    assert "-> MAIL FROM:<jane@isp.example>" in err
    assert "<- 250" in err and "Sent to " in err


def test_only_the_same_environment_reaches_it_and_linger_0_turns_it_off(
    home: Path, runtime: Path, plain_server: RunningServer, leak_guard: LeakGuard
) -> None:
    isp_profile(home, plain_server)
    assert sendmail(leak_guard, "-t").code == 0
    assert probe(leak_guard, "-t", env={"PASSWORD_STORE_DIR": "/elsewhere"})[0] == "cold"
    (home / "config.toml").write_text("sendmail_linger = 0\n")
    for pid in _warm_pids(runtime.parent):
        os.kill(pid, signal.SIGKILL)
    for sock in _sockets(runtime):
        sock.unlink()
    assert sendmail(leak_guard, "-t").code == 0
    assert _sockets(runtime) == []
    assert probe(leak_guard, "-t")[0] == "cold"


def test_it_leaves_after_its_idle_seconds(
    home: Path, runtime: Path, plain_server: RunningServer, leak_guard: LeakGuard
) -> None:
    (home / "config.toml").write_text("sendmail_linger = 1\n")
    isp_profile(home, plain_server)
    assert sendmail(leak_guard, "-t").code == 0
    assert _sockets(runtime)
    deadline = time.monotonic() + 10
    while _sockets(runtime) or _warm_pids(runtime.parent):
        assert time.monotonic() < deadline, "the warm process stayed"
        time.sleep(0.1)
    assert probe(leak_guard, "-t")[0] == "cold"


def test_a_caller_killed_while_handing_over_sends_nothing(
    home: Path, runtime: Path, plain_server: RunningServer, leak_guard: LeakGuard
) -> None:
    isp_profile(home, plain_server)
    assert sendmail(leak_guard, "-t").code == 0
    caller = _probe_running("-t")
    assert caller.stdin is not None
    caller.stdin.write(MESSAGE[:-20])  # a whole header and part of the body
    caller.stdin.flush()
    time.sleep(0.5)  # handed over as far as it goes
    caller.kill()
    caller.communicate()
    time.sleep(0.5)
    assert len(plain_server.messages) == 1
    assert Outbox().entries() == []
    assert probe(leak_guard, "-t") == ("warm", 0, "")  # and it serves the next one
    assert len(plain_server.messages) == 2


def test_a_killed_warm_process_leaves_a_socket_the_next_call_replaces(
    home: Path, runtime: Path, plain_server: RunningServer, leak_guard: LeakGuard
) -> None:
    isp_profile(home, plain_server)
    assert sendmail(leak_guard, "-t").code == 0
    [pid] = _warm_pids(runtime.parent)
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    [stale] = _sockets(runtime)
    assert probe(leak_guard, "-t")[0] == "cold"  # nothing listens there
    assert sendmail(leak_guard, "-t").code == 0  # sent cold, and stays in its place
    assert _sockets(runtime) == [stale]
    assert probe(leak_guard, "-t")[:2] == ("warm", 0)
    assert len(plain_server.messages) == 3


def test_a_password_to_type_is_asked_by_the_caller_on_its_terminal(
    home: Path, runtime: Path, servers: ServerThread, pki: Pki, leak_guard: LeakGuard
) -> None:
    """The warm process has no terminal: a profile whose password is typed is sent by the
    caller itself, which has one; without a terminal (cron) the answer is the cold one."""
    plain = start_scripted(servers, dialogue())
    isp_profile(home, plain, profile_id="plain")  # type: ignore[arg-type]
    assert sendmail(leak_guard, "-a", "plain", "bob@example.org").code == 0
    server = start_scripted(servers, dialogue(tls_context=pki.server_context))
    isp_profile(home, server, security="starttls", auth="plain", username=USER,  # type: ignore[arg-type]
                ca_file=str(pki.ca_file))  # fmt: skip
    where, code, err = probe(leak_guard, "-a", "isp", "bob@example.org", env={})
    assert (where, code) == ("warm", 78), err  # no terminal here: as cron is told
    assert "no password" in err
    reply = _probe_on_a_terminal(["-a", "isp", "bob@example.org"])
    assert reply.endswith("[cold]"), reply  # the caller asks, on its own terminal
    assert server.connections == 0


def _probe_on_a_terminal(args: list[str]) -> str:
    """The probe in a session of its own whose controlling terminal is a new pty."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: its terminal is the pty, its input the message
        read, write = os.pipe()
        os.write(write, MESSAGE)
        os.close(write)
        os.dup2(read, 0)
        os.chdir(REPO)
        os.execve(sys.executable, [sys.executable, "-c", PROBE, *args], dict(os.environ))
    output = b""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            piece = os.read(fd, 4096)
        except OSError:
            break
        if not piece:
            break
        output += piece
    os.waitpid(pid, 0)
    os.close(fd)
    return output.decode(errors="replace").strip()


def test_ctrl_c_reaches_the_sending_process_and_nothing_is_kept(
    home: Path, runtime: Path, servers: ServerThread, leak_guard: LeakGuard
) -> None:
    plain = start_scripted(servers, dialogue())
    isp_profile(home, plain, profile_id="plain")  # type: ignore[arg-type]
    assert sendmail(leak_guard, "-a", "plain", "bob@example.org").code == 0
    stalling = start_scripted(servers, dialogue({"RCPT": "stall"}))
    isp_profile(home, stalling, timeout=30)  # type: ignore[arg-type]
    caller = _probe_running("-a", "isp", "bob@example.org")
    assert caller.stdin is not None
    caller.stdin.write(MESSAGE)
    caller.stdin.close()
    caller.stdin = None  # handed over whole: communicate() has nothing to write
    deadline = time.monotonic() + 20
    while not any(line.startswith(b"RCPT") for line in stalling.received):
        assert time.monotonic() < deadline, "the send never reached RCPT"
        time.sleep(0.02)
    caller.send_signal(signal.SIGINT)
    out, err = caller.communicate(timeout=30)
    leak_guard.add(err.decode())
    assert out.decode().rstrip().endswith("[warm]")
    assert caller.returncode == 130, err
    assert err == b"mailtui: Interrupted; the message was not sent.\n"  # as a cold start says
    assert Outbox().entries() == []
    assert stalling.messages == 0


def test_a_socket_folder_others_can_enter_is_never_used(
    home: Path, runtime: Path, plain_server: RunningServer, leak_guard: LeakGuard
) -> None:
    runtime.mkdir(mode=0o700)
    runtime.chmod(0o755)
    isp_profile(home, plain_server)
    assert sendmail(leak_guard, "-t").code == 0
    assert _sockets(runtime) == []
    assert probe(leak_guard, "-t")[0] == "cold"
