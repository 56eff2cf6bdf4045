"""Interop with real mail programs: git send-email, neomutt and mailx hand their messages to
`mailtui-sendmail`, which sends them to aiosmtpd servers on loopback.

`tests/interop/setup_clients.sh` installs the programs (Debian packages); CI runs it. Without
them these tests skip, unless `MAILTUI_REQUIRE_CLIENTS=1`, when they fail instead.

Every program runs with HOME in a temporary folder (no user configuration is read) and the
suite's isolated MAILTUI_HOME; each one's own configuration is written by the test.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.conftest import LeakGuard, isp_profile
from tui.core.history import list_attempts
from tui.demo.servers import Received, RunningServer, ServerSpec, ServerThread

pytestmark = pytest.mark.clients

SENDMAIL = Path(sys.executable).parent / "mailtui-sendmail"
SETUP = "bash tests/interop/setup_clients.sh (as root)"
JANE = "Jane Doe <jane@isp.example>"  # isp_profile's from


def require(program: str) -> str:
    """The program's path; skips without it, or fails when MAILTUI_REQUIRE_CLIENTS=1 (as in CI)."""
    found = shutil.which(program)
    if program == "git" and found is not None:
        exec_path = subprocess.run([found, "--exec-path"], capture_output=True, text=True)
        if not (Path(exec_path.stdout.strip()) / "git-send-email").is_file():
            found = None
        program = "git send-email"
    if found is not None:
        return found
    reason = f"{program} is not installed; run {SETUP}"
    if os.environ.get("MAILTUI_REQUIRE_CLIENTS") == "1":
        pytest.fail(f"MAILTUI_REQUIRE_CLIENTS=1, but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def user_home(tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME for the mail programs: an empty folder, so that no configuration of the person
    running the tests is read (git's system configuration is left out too)."""
    folder = tmp_path / "user"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    for name in ("MAILRC", "EMAIL", "MUTT", "NEOMUTT", "GIT_DIR", "GIT_WORK_TREE"):
        monkeypatch.delenv(name, raising=False)
    # git send-email wants the committer's identity, whatever --from says (not the host's).
    (folder / ".gitconfig").write_text("[user]\n\tname = Jane Doe\n\temail = jane@isp.example\n")
    return folder


def run(
    guard: LeakGuard, argv: list[str], cwd: Path, stdin: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    done = subprocess.run(argv, input=stdin, capture_output=True, cwd=cwd, timeout=120)
    out, err = done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")
    guard.add(out)
    guard.add(err)
    assert done.returncode == 0, f"{argv[0]} exited {done.returncode}:\n{out}\n{err}"
    return done


def head_and_body(content: bytes) -> tuple[bytes, bytes]:
    head, _, body = content.partition(b"\r\n\r\n")
    return head + b"\r\n", body


def parsed(received: Received) -> EmailMessage:
    message = message_from_bytes(received.content, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


# -- git send-email ----------------------------------------------------------------------------

COMMITS = [
    ("README", "frobnicator\n", "Add a README"),
    (
        "notes.txt",
        # What SMTP and mbox are touchy about: a lone dot, leading dots, "From ", 8-bit text.
        ".\n.a line that starts with a dot\nFrom the start of a line\nGrüße aus Köln\n",
        "Add notes from Köln\n\nWith lines that SMTP and mbox treat specially:\n.\nFrom here on.",
    ),
    ("README", "frobnicator, now faster\n", "README: say it is faster"),
]


def patch_series(root: Path, guard: LeakGuard, count: int = 3) -> list[Path]:
    """A repository with `count` commits (the first three are COMMITS) and its series as
    `git format-patch --cover-letter --thread` writes it: a cover letter and one file a
    patch, each with its own Message-Id, the patches in reply to the cover letter."""
    git = require("git")
    repo = root / "repo"
    repo.mkdir()
    env_dates = {
        "GIT_AUTHOR_DATE": "2026-11-30T10:00:00Z",
        "GIT_COMMITTER_DATE": "2026-11-30T10:00:00Z",
    }

    def call(*args: str) -> None:
        done = subprocess.run(
            [git, *args], cwd=repo, capture_output=True, env={**os.environ, **env_dates}
        )
        assert done.returncode == 0, done.stderr.decode()

    call("init", "-q", "-b", "main")
    call("config", "user.name", "Jane Doe")
    call("config", "user.email", "jane@isp.example")
    for number in range(count):
        path, text, message = (
            COMMITS[number]
            if number < len(COMMITS)
            else (f"file{number}.txt", f"line {number}\n" * 20, f"Change {number}")
        )
        (repo / path).write_text(text, encoding="utf-8")
        call("add", path)
        call("commit", "-q", "-m", message)
    call(
        "config",
        "branch.main.description",
        "Make the frobnicator faster\n\nThree small steps; the second one adds notes.",
    )
    out = root / "series"
    call("format-patch", "-q", "--cover-letter", "--cover-from-description=subject", "--thread",
         f"-{count}", "-o", str(out))  # fmt: skip
    return sorted(out.glob("*.patch"))


CAPTURE = """#!/bin/sh
# What git send-email hands its sendmail command: the arguments and the message.
n=$(ls {folder}/*.eml 2>/dev/null | wc -l)
printf '%s\\n' "$@" > {folder}/$n.args
cat > {folder}/$n.eml
"""


def send_email(guard: LeakGuard, cwd: Path, command: str, patches: list[Path], *extra: str) -> None:
    run(
        guard,
        [
            require("git"),
            "send-email",
            "--confirm=never",
            "--suppress-cc=all",
            "--to=bob@example.org",
            f"--from={JANE}",
            f"--sendmail-cmd={command}",
            *extra,
            *map(str, patches),
        ],
        cwd,
    )


def without_date(message: bytes) -> bytes:
    """The message (CRLF) with its Date field's value blanked: git send-email dates each
    message from the clock when it runs, and that is all that differs between two runs."""
    head, body = head_and_body(message)
    return re.sub(rb"(?m)^Date: [^\r\n]*", b"Date: -", head) + b"\r\n" + body


def test_git_send_email_series_arrives_threaded_and_as_git_wrote_it(
    tmp_path: Path, home: Path, user_home: Path, plain_server: RunningServer, leak_guard: LeakGuard
) -> None:
    isp_profile(home, plain_server)
    patches = patch_series(tmp_path, leak_guard)
    assert len(patches) == 4 and patches[0].name.startswith("0000-cover-letter")

    # What git send-email hands a sendmail program, caught by a script that only saves it...
    caught = tmp_path / "caught"
    caught.mkdir()
    capture = tmp_path / "capture.sh"
    capture.write_text(CAPTURE.format(folder=caught))
    capture.chmod(0o755)
    send_email(leak_guard, tmp_path, str(capture), patches)
    given = [(caught / f"{n}.eml").read_bytes() for n in range(4)]
    assert [(caught / f"{n}.args").read_text().split() for n in range(4)] == [
        ["-i", "bob@example.org"]
    ] * 4

    # ...and the same series through mailtui-sendmail.
    send_email(leak_guard, tmp_path, str(SENDMAIL), patches)
    got = plain_server.messages
    assert len(got) == 4
    assert {m.mail_from for m in got} == {"jane@isp.example"}
    assert {m.rcpt_tos for m in got} == {("bob@example.org",)}
    for received, wrote in zip(got, given, strict=True):
        # Byte for byte what git wrote, in CRLF, but for the Date git takes from the clock:
        # nothing added (git writes From, Date and Message-ID), no dot or "From " mangled.
        assert without_date(received.content) == without_date(wrote.replace(b"\n", b"\r\n"))
    for received, patch in zip(got, patches, strict=True):
        # The body is the .patch file's body (format-patch writes what send-email sends).
        assert head_and_body(received.content)[1] == patch.read_bytes().split(b"\n\n", 1)[
            1
        ].replace(b"\n", b"\r\n")

    # The thread: every patch answers the cover letter, with the ids format-patch wrote.
    cover, *rest = (parsed(m) for m in got)
    written_ids = [
        re.search(rb"(?mi)^Message-I[dD]: (<[^>]+>)", p.read_bytes()).group(1).decode()  # type: ignore[union-attr]
        for p in patches
    ]
    assert [m["Message-ID"] for m in (cover, *rest)] == written_ids
    assert cover["In-Reply-To"] is None and "Make the frobnicator faster" in cover["Subject"]
    for number, message in enumerate(rest, start=1):
        assert message["Subject"].startswith(f"[PATCH {number}/3]")
        assert message["In-Reply-To"] == cover["Message-ID"]
        assert message["References"] == cover["Message-ID"]
    assert "Grüße aus Köln" in rest[1].get_content()
    attempts = list_attempts()
    assert len(attempts) == 4 and {a.kind for a in attempts} == {"sendmail"}
    assert {a.outcome for a in attempts} == {"sent"}


# -- neomutt -----------------------------------------------------------------------------------

NEOMUTTRC = """\
set sendmail="{sendmail} -oem -oi"
set from="jane@isp.example"
set realname="Jane Doe"
set use_from=yes
set write_bcc={write_bcc}
set charset="utf-8"
set send_charset="utf-8"
set folder="{root}/Mail"
set spoolfile=""
set record=""
set postponed="{root}/Mail/postponed"
set tmpdir="{root}"
set header_cache=""
set message_cachedir=""
"""


def neomutt(guard: LeakGuard, root: Path, *args: str, body: bytes, write_bcc: bool = False) -> None:
    """`neomutt -n -F rcfile ARGS < body`: batch mode, as a script or cron job sends."""
    program = require("neomutt")
    rcfile = root / "neomuttrc"
    rcfile.write_text(
        NEOMUTTRC.format(sendmail=SENDMAIL, root=root, write_bcc="yes" if write_bcc else "no")
    )
    run(guard, [program, "-n", "-F", str(rcfile), *args], root, stdin=body)


@pytest.mark.parametrize("write_bcc", [True, False], ids=["write_bcc", "no_write_bcc"])
def test_neomutt_attachment_arrives_intact_and_bcc_stays_hidden(
    tmp_path: Path,
    home: Path,
    user_home: Path,
    plain_server: RunningServer,
    leak_guard: LeakGuard,
    write_bcc: bool,
) -> None:
    """With write_bcc (mutt's default, neomutt's before 2020) the Bcc header reaches
    sendmail, whose job it is to drop it; without, only the envelope carries it."""
    isp_profile(home, plain_server)
    attachment = tmp_path / "attachment.bin"
    data = os.urandom(48_000) + bytes(range(256))  # every byte value, and no text at all
    attachment.write_bytes(data)
    neomutt(leak_guard, tmp_path, "-s", "Report", "-b", "hidden@example.org", "-a",
            str(attachment), "--", "bob@example.org",
            body=b"The report is attached.\n", write_bcc=write_bcc)  # fmt: skip
    [got] = plain_server.messages
    assert got.mail_from == "jane@isp.example"
    assert sorted(got.rcpt_tos) == ["bob@example.org", "hidden@example.org"]
    head, _body = head_and_body(got.content)
    assert b"hidden" not in head.lower()
    assert b"hidden" not in got.content.lower()  # nowhere at all, in fact
    message = parsed(got)
    assert message["From"] == JANE and message["To"] == "bob@example.org"
    assert message["Subject"] == "Report" and message["Bcc"] is None
    text = message.get_body(("plain",))
    assert text is not None and text.get_content().rstrip() == "The report is attached."
    [part] = list(message.iter_attachments())
    assert part.get_filename() == "attachment.bin"
    assert part.get_payload(decode=True) == data


def test_neomutt_mail_goes_out_through_the_profile_of_its_from_address(
    tmp_path: Path, home: Path, user_home: Path, servers: ServerThread, leak_guard: LeakGuard
) -> None:
    """Three profiles with different from addresses, three servers: each message reaches
    the server of the profile that sends for its From, and no other."""
    isp, work, club = (servers.start(ServerSpec(name)) for name in ("isp", "work", "club"))
    isp_profile(home, isp, "isp")
    isp_profile(home, work, "work", **{"from": "Jane Doe <jane@work.example>"})
    isp_profile(home, club, "club", **{"from": "Jane <secretary@club.example>"})
    sent = [
        ("jane@work.example", work),
        ("secretary@club.example", club),
        ("jane@isp.example", isp),
        ("jane+lists@isp.example", isp),  # plus-addressing: still the isp profile's
    ]
    for address, _server in sent:
        neomutt(leak_guard, tmp_path, "-e", f"set from={address}", "-s", f"from {address}",
                "--", "bob@example.org", body=b"hello\n")  # fmt: skip
    for address, server in sent:
        [got] = [m for m in server.messages if f"from {address}".encode() in m.content]
        assert got.mail_from == address
        assert parsed(got)["From"] == f"Jane Doe <{address}>"
    assert (len(isp.messages), len(work.messages), len(club.messages)) == (2, 1, 1)


# -- mailx (and cron) --------------------------------------------------------------------------


def test_mailx_without_from_goes_with_the_default_profile(
    tmp_path: Path, home: Path, user_home: Path, servers: ServerThread, leak_guard: LeakGuard
) -> None:
    """`echo body | mailx -s subject root@host.example`, as a script or a cron job mails its
    output: bsd-mailx writes no From, so the profile with `default = true` sends it, and
    mailtui adds From, Date and Message-ID after mailx's own header fields."""
    mailx = require("mailx")
    isp, cron = servers.start(ServerSpec("isp")), servers.start(ServerSpec("cron"))
    isp_profile(home, isp, "isp")
    isp_profile(home, cron, "cron", name="Cron", **{"from": "cron@host.example"}, default=True)
    (user_home / ".mailrc").write_text(f"set sendmail={SENDMAIL}\n")  # bsd-mailx's setting
    run(leak_guard, [mailx, "-s", "Nightly backup", "root@host.example"], tmp_path,
        stdin=b"backup done: 3 files, 0 errors\n")  # fmt: skip
    assert isp.messages == []
    [got] = cron.messages
    assert got.mail_from == "cron@host.example" and got.rcpt_tos == ("root@host.example",)
    head, body = head_and_body(got.content)
    names = [line.split(b":")[0].decode() for line in head.splitlines() if line[:1].isalpha()]
    assert names[:2] == ["To", "Subject"]  # mailx's header first, as mailx wrote it
    assert names[-3:] == ["From", "Date", "Message-ID"]  # then what mailtui added
    message = parsed(got)
    assert message["To"] == "root@host.example" and message["Subject"] == "Nightly backup"
    assert message["From"] == "cron@host.example"
    assert abs(time.time() - message["Date"].datetime.timestamp()) < 600  # written just now
    assert re.fullmatch(r"<[^<>@\s]+@host\.example>", message["Message-ID"])
    assert body == b"backup done: 3 files, 0 errors\r\n"


# Debian's cron (Vixie cron) mails a job's output as below, piped to
# `/usr/sbin/sendmail -i -FCronDaemon -B8BITMIME -oem $MAILTO`: its From is the bare local
# name "root". Run here as cron runs it, since cron itself cannot be driven from a test.
CRON_MAIL = (
    b"From: root (Cron Daemon)\n"
    b"To: jane@example.org\n"
    b"Subject: Cron <root@host> /usr/local/bin/backup\n"
    b"MIME-Version: 1.0\n"
    b"Content-Type: text/plain; charset=UTF-8\n"
    b"Content-Transfer-Encoding: 8bit\n"
    b"X-Cron-Env: <MAILTO=jane@example.org>\n"
    b"X-Cron-Env: <SHELL=/bin/sh>\n"
    b"X-Cron-Env: <HOME=/root>\n"
    b"X-Cron-Env: <LOGNAME=root>\n"
    b"\n"
    b"backup: 3 files, 0 errors\n"
)


def test_cron_mail_goes_with_the_default_profile_as_the_profiles_address(
    tmp_path: Path, home: Path, user_home: Path, servers: ServerThread, leak_guard: LeakGuard
) -> None:
    isp, cron = servers.start(ServerSpec("isp")), servers.start(ServerSpec("cron"))
    isp_profile(home, isp, "isp")
    isp_profile(home, cron, "cron", name="Cron", **{"from": "cron@host.example"}, default=True)
    argv = [str(SENDMAIL), "-i", "-FCronDaemon", "-B8BITMIME", "-oem", "jane@example.org"]
    run(leak_guard, argv, tmp_path, stdin=CRON_MAIL)
    assert isp.messages == []
    [got] = cron.messages
    assert got.mail_from == "cron@host.example" and got.rcpt_tos == ("jane@example.org",)
    head, body = head_and_body(got.content)
    written = CRON_MAIL.replace(b"\n", b"\r\n").split(b"\r\n\r\n")[0] + b"\r\n"
    # cron's header as written but for its From, which now names the profile's address...
    assert head.startswith(written.replace(b"From: root (Cron Daemon)\r\n", b""))
    # ...after which come that From (cron's name kept), a Date and a Message-ID.
    added = head[len(written) - len(b"From: root (Cron Daemon)\r\n") :].decode()
    assert re.fullmatch(
        r"From: Cron Daemon <cron@host\.example>\r\nDate: [^\r\n]+\r\n"
        r"Message-ID: <[^<>@\s]+@host\.example>\r\n",
        added,
    ), added
    assert body == b"backup: 3 files, 0 errors\r\n"
