"""The Sent copy against a real Dovecot IMAP server on loopback (and Postfix for the send).

`tests/interop/setup_postfix.sh` also runs Dovecot's IMAP on 127.0.0.1:1143 (STARTTLS) and
:1993 (implicit TLS) with three users sharing the Postfix user's password: jane, whose "Sent"
has the \\Sent special-use attribute; items, whose Sent is "Sent Items" without it; nosent,
with no Sent at all. Without it these tests skip, unless MAILTUI_REQUIRE_POSTFIX=1, when
they fail instead (as in CI).

The copies are read back over IMAP with a plain IMAPClient: the bytes, the \\Seen flag and
the internal date must be what mailtui gave.
"""

from __future__ import annotations

import functools
import json
import os
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
from imapclient import IMAPClient

from tests.conftest import Transcript, write_profile
from tests.interop.test_postfix import (  # noqa: F401 - the fixture guards these tests too
    BCC,
    ENV_FILE,
    SETUP,
    WRONG_PASSWORD,
    delivered,
    draft,
    portal,
    postfix_secrets_never_leak,
    random_attachment,
    require_postfix,
    sent_copy,
    split_trace,
)
from tui.core import locations, sending
from tui.core.pending_copies import PendingCopies, retry_pending
from tui.core.profiles import Profile, load_profile
from tui.core.provider_memory import ProviderMemory
from tui.core.results import Outcome
from tui.core.sent_copy import CopyOutcome, CopyResult, check_imap, copy_to_sent, with_bcc

pytestmark = pytest.mark.postfix

WHEN = datetime(2026, 11, 30, 9, 15, 42, tzinfo=timezone(timedelta(hours=1)))
WAIT = 0.2  # the provider's grace period, shortened for the tests


@dataclass(frozen=True)
class Dovecot:
    """The IMAP side of what setup_postfix.sh wrote to env.json."""

    host: str
    starttls_port: int
    tls_port: int
    sent_user: str
    items_user: str
    nosent_user: str
    ca_file: Path
    password_file: Path

    @property
    def password(self) -> str:
        return self.password_file.read_text().splitlines()[0]

    def connect(self, user: str) -> IMAPClient:
        """A plain IMAPClient, logged in: the tests' own eyes on the mailbox."""
        context = ssl.create_default_context(cafile=str(self.ca_file))
        client = IMAPClient(self.host, port=self.tls_port, ssl_context=context, timeout=10)
        client.login(user, self.password)
        return client


@functools.cache
def _find_dovecot() -> Dovecot | str:
    if not ENV_FILE.is_file():
        return f"Dovecot is not set up for the interop tests: {ENV_FILE} is missing; run {SETUP}"
    try:
        raw: dict[str, Any] = json.loads(ENV_FILE.read_text())
        found = Dovecot(
            host=raw["host"],
            starttls_port=int(raw["imap_starttls_port"]),
            tls_port=int(raw["imaps_port"]),
            sent_user=raw["imap_sent_user"],
            items_user=raw["imap_items_user"],
            nosent_user=raw["imap_nosent_user"],
            ca_file=Path(raw["ca_file"]),
            password_file=Path(raw["password_file"]),
        )
    except (OSError, ValueError, KeyError) as exc:
        return f"{ENV_FILE} has no usable IMAP settings ({exc!r}); run {SETUP} again"
    try:
        with socket.create_connection((found.host, found.starttls_port), timeout=3) as sock:
            greeting = sock.recv(512)
        if not greeting.startswith(b"* OK"):
            return f"{found.host}:{found.starttls_port} does not greet as IMAP; run {SETUP}"
        socket.create_connection((found.host, found.tls_port), timeout=3).close()
        _ = found.password
    except OSError as exc:
        return f"Dovecot IMAP does not answer on {found.host} ({exc}); run {SETUP}"
    return found


def require_dovecot() -> Dovecot:
    """Dovecot's IMAP; skips without it, or fails when MAILTUI_REQUIRE_POSTFIX=1."""
    found = _find_dovecot()
    if isinstance(found, Dovecot):
        return found
    if os.environ.get("MAILTUI_REQUIRE_POSTFIX") == "1":
        pytest.fail(f"MAILTUI_REQUIRE_POSTFIX=1, but {found}", pytrace=False)
    pytest.skip(found)


def imap_profile(home: Path, dv: Dovecot, user: str, security: str = "tls", **imap: Any) -> Profile:
    """A portal profile whose [imap] logs in to Dovecot as `user` (its SMTP username)."""
    table = {
        "host": dv.host,
        "port": dv.tls_port if security == "tls" else dv.starttls_port,
        "security": security,
        "ca_file": str(dv.ca_file),
        **imap,
    }
    path = write_profile(
        home,
        f"imap-{user}",
        name="Portal with IMAP",
        provider="portal",
        **{"from": "Jane Doe <jane@portal.example>"},
        host=dv.host,
        security="starttls",
        auth="plain",
        username=user,
        password_command=f"cat {dv.password_file}",
        timeout=20,
        imap={k: v for k, v in table.items() if v is not None},
    )
    return load_profile(path)


def in_folder(dv: Dovecot, user: str, folder: str, message_id: str) -> list[dict[bytes, Any]]:
    """Every message of `folder` with this Message-ID: its bytes, flags and internal date."""
    client = dv.connect(user)
    try:
        client.select_folder(folder, readonly=True)
        uids = client.search(["HEADER", "Message-ID", message_id])
        found = client.fetch(uids, ["BODY.PEEK[]", "FLAGS", "INTERNALDATE"]) if uids else {}
        return [found[uid] for uid in sorted(found)]
    finally:
        client.logout()


def small_message() -> tuple[bytes, str]:
    message_id = make_msgid(domain="portal.example")
    data = (
        "From: Jane Doe <jane@portal.example>\r\nTo: bob@example.org\r\n"
        f"Message-ID: {message_id}\r\nSubject: Grüße\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        "Grüße aus Köln.\r\n.\r\n..\r\n"
    ).encode()
    return data, message_id


@contextmanager
def provider_files(
    dv: Dovecot, user: str, folder: str, data: bytes, after: float
) -> Iterator[None]:
    """The provider's own filing of a submitted message: appended to `folder` by another
    client `after` seconds from now, while mailtui is waiting to look again."""

    def file_it() -> None:
        client = dv.connect(user)
        try:
            client.append(folder, data, flags=(rb"\Seen",))
        finally:
            client.logout()

    timer = threading.Timer(after, file_it)
    timer.start()
    try:
        yield
    finally:
        timer.join()


# --- the tests -------------------------------------------------------------------------------


async def test_a_sent_message_lands_in_sent_exactly_as_sent_plus_bcc(
    home: Path, tmp_path: Path, transcript: Transcript
) -> None:
    pf = require_postfix()
    dv = require_dovecot()
    sender = load_profile(portal(home, pf))  # no [imap]: the copy is made here, by hand
    result = await sending.send(sender, draft(random_attachment(tmp_path), "A copy in Sent"))
    assert result.outcome is Outcome.SENT, result.summary
    assert result.message_id
    sent = sent_copy()
    for raw in delivered(pf, result.message_id, count=3):
        split_trace(raw, sent)  # what Postfix received is byte for byte what was sent
    data = with_bcc(sent, [BCC])
    assert data == sent.replace(b"\r\n\r\n", f"\r\nBcc: {BCC}\r\n\r\n".encode(), 1)

    profile = imap_profile(home, dv, dv.sent_user)
    copied = copy_to_sent(profile, data, result.message_id, WHEN, transcript, wait=WAIT)
    assert copied.outcome is CopyOutcome.COPIED, f"{copied.summary}\n{transcript.text}"
    assert copied.folder == "Sent"  # found by its \Sent attribute
    [stored] = in_folder(dv, dv.sent_user, "Sent", result.message_id)
    assert stored[b"BODY[]"] == data
    assert rb"\Seen" in stored[b"FLAGS"]
    internal = stored[b"INTERNALDATE"]  # IMAPClient gives local time without a zone
    assert internal == WHEN.astimezone().replace(tzinfo=None)
    text = transcript.text
    assert "~> IMAP " in text and f" LOGIN {dv.sent_user} ********" in text
    assert "-> IMAP" not in text  # implicit TLS: nothing in plain text
    assert "** IMAP TLS established: TLSv1." in text
    assert "~> IMAP [message: " in text
    assert "Relay" not in text and "random.bin" not in text  # the message is one line


def test_sent_items_without_the_attribute_over_starttls(home: Path, transcript: Transcript) -> None:
    dv = require_dovecot()
    profile = imap_profile(home, dv, dv.items_user, security="starttls")
    data, message_id = small_message()
    copied = copy_to_sent(profile, data, message_id, WHEN, transcript, wait=WAIT)
    assert copied.outcome is CopyOutcome.COPIED, f"{copied.summary}\n{transcript.text}"
    assert copied.folder == "Sent Items"
    [stored] = in_folder(dv, dv.items_user, "Sent Items", message_id)
    assert stored[b"BODY[]"] == data
    lines = transcript.lines
    starttls = next(i for i, line in enumerate(lines) if line.endswith(" STARTTLS"))
    assert " -> IMAP " in lines[starttls]
    login = next(i for i, line in enumerate(lines) if " LOGIN " in line)
    assert login > starttls and " ~> IMAP " in lines[login]


def test_the_provider_that_files_sent_mail_gets_no_duplicate(
    home: Path, transcript: Transcript
) -> None:
    dv = require_dovecot()
    profile = imap_profile(home, dv, dv.sent_user)
    data, message_id = small_message()
    with provider_files(dv, dv.sent_user, "Sent", data, after=0.3):
        result = copy_to_sent(profile, data, message_id, WHEN, transcript, wait=1.5)
    assert result.outcome is CopyOutcome.ALREADY_THERE, f"{result.summary}\n{transcript.text}"
    assert len(in_folder(dv, dv.sent_user, "Sent", message_id)) == 1
    assert " APPEND " not in transcript.text
    assert ProviderMemory().saves_itself(profile) == "Sent"
    remembered = json.loads(locations.provider_memory_file().read_text())
    assert remembered["provider_saves_sent"][profile.id]["folder"] == "Sent"

    # The next message is left to the provider without a connection.
    later_data, later_id = small_message()
    later = copy_to_sent(profile, later_data, later_id, WHEN, transcript)
    assert later.outcome is CopyOutcome.ALREADY_THERE
    assert transcript.text.count("connecting to") == 1
    assert in_folder(dv, dv.sent_user, "Sent", later_id) == []


def test_a_pending_copy_that_landed_is_not_appended_again(
    home: Path, transcript: Transcript
) -> None:
    dv = require_dovecot()
    profile = imap_profile(home, dv, dv.sent_user)
    data, message_id = small_message()
    # The first try's APPEND reached the server, but its answer was lost.
    assert copy_to_sent(profile, data, message_id, WHEN, wait=0).outcome is CopyOutcome.COPIED
    lost = CopyResult(CopyOutcome.FAILED, "the connection broke", retry=True)
    kept = PendingCopies().keep(profile, data, message_id, WHEN, lost)
    [retried] = retry_pending([profile], transcript, only=kept.id)
    assert retried.result.outcome is CopyOutcome.ALREADY_THERE, retried.result.summary
    assert len(in_folder(dv, dv.sent_user, "Sent", message_id)) == 1
    assert PendingCopies().pending() == []
    assert ProviderMemory().saves_itself(profile) is None  # found on a retry: no proof


def test_check_finds_sent_and_names_what_exists_when_there_is_none(
    home: Path, transcript: Transcript
) -> None:
    dv = require_dovecot()
    found = check_imap(imap_profile(home, dv, dv.sent_user), transcript)
    assert found.ok and found.folder == "Sent", found.summary
    items = check_imap(imap_profile(home, dv, dv.items_user, security="starttls"))
    assert items.ok and items.folder == "Sent Items", items.summary
    missing = check_imap(imap_profile(home, dv, dv.nosent_user), transcript)
    assert not missing.ok
    assert '"Entwürfe"' in missing.summary and '"Archiv"' in missing.summary
    assert 'folder = "…" under [imap]' in missing.summary


def test_a_wrong_password_is_one_login_and_never_shown(home: Path, transcript: Transcript) -> None:
    dv = require_dovecot()
    profile = imap_profile(home, dv, dv.sent_user, password_command=None)
    data, message_id = small_message()
    result = copy_to_sent(profile, data, message_id, WHEN, transcript, password=WRONG_PASSWORD)
    assert result.outcome is CopyOutcome.FAILED
    assert not result.retry
    assert f"refused the IMAP login of {dv.sent_user}" in result.summary
    assert sum(" LOGIN " in line for line in transcript.lines) == 1
    assert WRONG_PASSWORD not in result.summary


def test_a_pinned_certificate_and_a_wrong_pin(home: Path, transcript: Transcript) -> None:
    pf = require_postfix()  # Dovecot serves the same certificate as Postfix
    dv = require_dovecot()
    pinned = imap_profile(
        home, dv, dv.sent_user, ca_file=None, tls_fingerprint=pf.certificate_fingerprint
    )
    assert check_imap(pinned).ok
    wrong = imap_profile(home, dv, dv.sent_user, tls_fingerprint="sha256:" + "00:" * 31 + "00")
    check = check_imap(wrong, transcript)
    assert not check.ok and "does not match tls_fingerprint" in check.summary
    assert " LOGIN " not in transcript.text
