"""A copy of each sent message in the provider's IMAP Sent folder, and never two.

After the SMTP server accepted a message, `copy_to_sent` appends the bytes that were sent
(with the Bcc header, for the sender's record) to the Sent folder with the \\Seen flag and
the send time as its internal date. Gmail, Outlook.com and others file submitted mail in
Sent themselves; with `copy = "auto"` the folder is searched for the Message-ID first, and
once more after a short wait, and a provider found to do so is remembered
(tui/core/provider_memory.py) so later sends leave it alone. A retry searches first too: a copy
whose APPEND was cut off after its message left is found, not appended again. The
connection, and its failures in words, are tui/core/imap_session.py.

It is synchronous, for a thread (`asyncio.to_thread`): IMAPClient blocks. The listener hears
the conversation in the transcript's format, each line marked IMAP, from that thread.
A copy that fails never changes the send's outcome: the caller keeps it pending
(tui/core/pending_copies.py) and says why in one line.
"""

import os
import time
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import NamedTuple

from tui.core.imap_session import ImapSession, ImapStepFailed, emit
from tui.core.profiles import Profile
from tui.core.provider_memory import ProviderMemory
from tui.core.transcript import Listener, Mark

# How long a provider may take to file a submitted message in Sent itself, before the one
# re-check (MAILTUI_SENT_COPY_WAIT overrides it, for tests that run mailtui as a program).
PROVIDER_WAIT = 2.0


class CopyOutcome(StrEnum):
    COPIED = "copied"  # appended to the folder
    ALREADY_THERE = "already-there"  # the provider filed it (or an earlier try did)
    SKIPPED = "skipped"  # no [imap], or copy = "never"
    FAILED = "failed"


class CopyResult(NamedTuple):
    """What became of one Sent copy, in one plain sentence."""

    outcome: CopyOutcome
    summary: str
    folder: str | None = None
    retry: bool = False  # failed, and worth trying again by itself (False: the person acts)

    @property
    def failed(self) -> bool:
        return self.outcome is CopyOutcome.FAILED


class ImapCheck(NamedTuple):
    """What `check_imap` found: could it log in, and which folder is Sent."""

    ok: bool
    summary: str
    folder: str | None = None
    folders: tuple[str, ...] = ()


def provider_wait() -> float:
    value = os.environ.get("MAILTUI_SENT_COPY_WAIT")
    try:
        return max(0.0, float(value)) if value else PROVIDER_WAIT
    except ValueError:
        return PROVIDER_WAIT


def copy_to_sent(
    profile: Profile,
    data: bytes,
    message_id: str,
    when: datetime,
    listener: Listener | None = None,
    password: str | None = None,
    *,
    retrying: bool = False,
    wait: float | None = None,
    state_file: Path | None = None,
) -> CopyResult:
    """Put `data`, a message just sent, in the profile's IMAP Sent folder, unless it is
    there already. `password` is the one the send used (ignored when [imap] has its own
    password_command); `retrying` marks a later try (it searches, never waits). Never
    raises for a server's or the network's fault: a FAILED result says what happened."""
    imap = profile.imap
    if imap is None or imap.copy == "never":
        why = "no [imap] table" if imap is None else 'copy = "never" under [imap]'
        return CopyResult(CopyOutcome.SKIPPED, f"no copy to Sent: the profile has {why}")
    memory = ProviderMemory(state_file)
    if imap.copy == "auto":
        known = memory.saves_itself(profile)
        if known is not None:
            summary = (
                f"not copied to Sent: {imap.host} files sent mail in {known} itself "
                "(found on an earlier send)"
            )
            emit(listener, (), Mark.INFO, summary)
            return CopyResult(CopyOutcome.ALREADY_THERE, summary, folder=known)
    with ImapSession(profile, imap, listener, password) as session:
        try:
            return _copy(session, memory, data, message_id, when, retrying, wait)
        except ImapStepFailed as failed:
            session.error(failed.summary)
            return CopyResult(CopyOutcome.FAILED, failed.summary, retry=failed.retry)
        except Exception as exc:  # a library's surprise must not undo a send that went
            session.broken = True
            summary = session.scrub(f"the copy to Sent failed unexpectedly ({exc!r})")
            session.error(summary)
            return CopyResult(CopyOutcome.FAILED, summary, retry=True)


def _copy(
    session: ImapSession,
    memory: ProviderMemory,
    data: bytes,
    message_id: str,
    when: datetime,
    retrying: bool,
    wait: float | None,
) -> CopyResult:
    session.open()
    folder = session.sent_folder()
    session.examine(folder)
    if session.has(message_id):
        return _already_there(session, folder, remember=None)
    if session.imap.copy == "auto" and not retrying:
        pause = provider_wait() if wait is None else wait
        if pause > 0:
            session.note(f"not in {folder} yet; checking again in {pause:g} s")
            time.sleep(pause)
            session.refresh()
            if session.has(message_id):
                return _already_there(session, folder, remember=memory)
    session.append(folder, data, when)
    summary = f"copied to {folder} on {session.imap.host}"
    session.note(summary)
    return CopyResult(CopyOutcome.COPIED, summary, folder=folder)


def _already_there(
    session: ImapSession, folder: str, remember: ProviderMemory | None
) -> CopyResult:
    """The message is in the folder: by the provider's hand when found only after the wait
    (then remembered), else by the provider's or an earlier try's."""
    host = session.imap.host
    if remember is not None:
        summary = f"not copied: {host} filed it in {folder} itself; it will not be copied again"
        warning = remember.remember(session.profile, folder)
        if warning:
            session.note(warning)
    else:
        summary = f"not copied: it is in {folder} on {host} already"
    session.note(summary)
    return CopyResult(CopyOutcome.ALREADY_THERE, summary, folder=folder)


def check_imap(
    profile: Profile, listener: Listener | None = None, password: str | None = None
) -> ImapCheck:
    """Log in to the profile's IMAP server and find its Sent folder (mailtui check, the
    profile editor's Check): nothing is changed on the server."""
    imap = profile.imap
    if imap is None:
        return ImapCheck(False, "the profile has no [imap] table")
    with ImapSession(profile, imap, listener, password) as session:
        try:
            session.open()
            folder = session.sent_folder()
        except ImapStepFailed as failed:
            session.error(failed.summary)
            return ImapCheck(False, failed.summary, folders=session.folders)
        how = "the folder named in the profile" if imap.folder else "found on the server"
        summary = (
            f"logged in to {imap.server} as {session.username}; the Sent folder is {folder} ({how})"
        )
        session.note(summary)
        return ImapCheck(True, summary, folder, session.folders)


def with_bcc(data: bytes, bcc: Sequence[str]) -> bytes:
    """The bytes that were sent with a Bcc header added at the end of the header block, as
    every mail client files its own Sent copy; unchanged when there were no Bcc recipients."""
    if not bcc:
        return data
    from email import policy
    from email.message import EmailMessage
    from email.utils import getaddresses

    # Names are encoded (RFC 2047); an address beyond ASCII goes as UTF-8, as it was sent.
    eai = any(not address.isascii() for _name, address in getaddresses(list(bcc)))
    header = EmailMessage(policy=policy.SMTPUTF8 if eai else policy.SMTP)
    header["Bcc"] = ", ".join(bcc)
    line = header.as_bytes().rstrip(b"\r\n") + b"\r\n"
    end = data.find(b"\r\n\r\n")
    if end == -1:  # no body: the header block is all there is
        return data + (b"" if data.endswith(b"\r\n") or not data else b"\r\n") + line
    return data[: end + 2] + line + data[end + 2 :]
