"""The Sent copy of what a session just sent: which messages, which bytes, and what the
attempt says about it.

After the SMTP session (never inside its timing), each accepted message of a profile with
`[imap]` is copied to the Sent folder (tui/core/pending_copies.py `copy_after_send`) in a
thread, with the bytes that left plus a Bcc header naming the envelope recipients the header
does not, for the sender's record. The send's outcome never changes: a copy that fails is
kept for a later try and adds one warning line, and so is a copy a cancellation (Ctrl-C)
stopped before it began.
"""

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import datetime
from email import policy
from email.parser import HeaderParser
from email.utils import getaddresses
from typing import IO, Any

from tui.core.message import Prepared
from tui.core.pending_copies import PendingCopies, copy_after_send
from tui.core.profiles import Profile
from tui.core.sent_copy import CopyOutcome, CopyResult, with_bcc
from tui.core.transcript import Listener

# The header fields that name recipients; an envelope recipient in none of them was a Bcc.
NAMED = ("to", "cc", "resent-to", "resent-cc")


def hidden_recipients(data: bytes, recipients: Sequence[str]) -> list[str]:
    """The envelope recipients that To and Cc (or Resent-To/Cc) do not name: the Bcc."""
    end = data.find(b"\r\n\r\n")
    header = data if end == -1 else data[: end + 4]
    # As text: an address beyond ASCII (SMTPUTF8) is UTF-8 in the header.
    fields = HeaderParser(policy=policy.compat32).parsestr(header.decode("utf-8", "replace"))
    values = [str(v) for name in NAMED for v in fields.get_all(name, [])]
    named = {_plain(address) for _name, address in getaddresses(values) if address}
    return [r for r in dict.fromkeys(recipients) if _plain(r) not in named]


def _plain(address: str) -> str:
    """An address as the envelope and a header may both spell it: the domain in ASCII, and
    no case (a local part's case matters to almost no server)."""
    local, _at, domain = address.strip().rpartition("@")
    if not domain.isascii():
        with contextlib.suppress(UnicodeError):
            domain = domain.encode("idna").decode("ascii")
    return f"{local}@{domain}".lower()


def source_of(prepared: Prepared) -> bytes | IO[bytes]:
    """The sent bytes, held before the outbox files the message away: in memory as they
    are, or the file opened (it stays readable after the outbox moves it)."""
    if prepared.path is None:
        return prepared.data
    return prepared.path.open("rb")


def _read(source: bytes | IO[bytes]) -> bytes:
    """The sent bytes; a file is closed once read. Raises OSError."""
    if isinstance(source, bytes):
        return source
    try:
        return source.read()
    finally:
        source.close()


async def copy_sent(
    profile: Profile,
    prepared: Prepared,
    source: bytes | IO[bytes],
    bcc: Sequence[str],
    when: datetime,
    listener: Listener | None,
    password: str | None,
) -> CopyResult:
    """Copy one sent message to the profile's Sent folder in a thread (IMAPClient blocks);
    the listener hears the IMAP lines from that thread. Never raises for the copy's faults."""

    def work() -> CopyResult:
        try:
            data = _read(source)
        except OSError as exc:
            return _unreadable(exc)
        return copy_after_send(
            profile,
            with_bcc(data, bcc),
            prepared.message_id,
            when,
            listener,
            password,
            subject=prepared.subject,
        )

    return await asyncio.to_thread(work)


def keep_for_later(
    profile: Profile,
    prepared: Prepared,
    source: bytes | IO[bytes],
    bcc: Sequence[str],
    when: datetime,
) -> CopyResult:
    """A sent message whose copy was never tried (the send was stopped first), kept for the
    next retry as a failed copy would be. On the event loop: a few file writes."""
    why = "the send was stopped before its copy to Sent was made"
    result = CopyResult(CopyOutcome.FAILED, why, retry=True)
    try:
        data = with_bcc(_read(source), bcc)
    except OSError as exc:
        return _unreadable(exc)
    try:
        PendingCopies().keep(profile, data, prepared.message_id, when, result, prepared.subject)
    except OSError as exc:
        lost = f"copy to Sent failed and could not be kept for later ({exc.strerror or exc})"
        return result._replace(summary=f"{lost}: {why}")
    return result._replace(summary=f"copy to Sent pending: {why}")


def _unreadable(exc: OSError) -> CopyResult:
    why = f"copy to Sent failed: the sent message could not be read ({exc.strerror})"
    return CopyResult(CopyOutcome.FAILED, why)


def copy_record(result: CopyResult) -> dict[str, Any]:
    """The copy's outcome in the attempt's history record."""
    return {
        "outcome": result.outcome.value,
        "summary": result.summary,
        "folder": result.folder,
        "pending": result.summary.startswith("copy to Sent pending"),
    }
