"""A copy of each sent message in the provider's IMAP Sent folder, and never two.

After the SMTP server accepted a message, `copy_to_sent` appends the bytes that were sent
(with the Bcc header, for the sender's record) to the Sent folder with the \\Seen flag and
the send time as its internal date. Gmail, Outlook.com and others file submitted mail in
Sent themselves; with `copy = "auto"` the folder is searched for the Message-ID first, and
once more after a short wait, and a provider found to do so is remembered
(tui/core/provider_memory.py) so later sends leave it alone. A retry searches first too: a
copy whose APPEND was cut off after its message left is found, not appended again.

It is synchronous, for a thread (`asyncio.to_thread`): IMAPClient blocks. The listener hears
the conversation in the transcript's format, each line marked IMAP, from that thread.
A copy that fails never changes the send's outcome: the caller keeps it pending
(tui/core/pending_copies.py) and says why in one line.
"""

from __future__ import annotations

import os
import socket
import ssl
import time
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from tui.core.profiles import ImapSettings, Profile
from tui.core.redaction import scrub, secret_forms
from tui.core.transcript import Listener, Mark, make_event, printable

if TYPE_CHECKING:
    from tui.core.imap_client import TracedIMAPClient

# How long a provider may take to file a submitted message in Sent itself, before the one
# re-check (MAILTUI_SENT_COPY_WAIT overrides it, for tests that run mailtui as a program).
PROVIDER_WAIT = 2.0
# Where Sent is, when no folder has the RFC 6154 \Sent attribute: the first of these that
# exists (exact names first, then the same names in any case).
SENT_FOLDER_NAMES = ("Sent", "Sent Items", "Sent Messages", "[Gmail]/Sent Mail", "INBOX.Sent")
FOLDERS_NAMED = 12  # an error lists at most this many of the folders found


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


class CopyFailed(Exception):
    """A step of the copy failed; `summary` says why in words, `retry` whether later may do."""

    def __init__(self, summary: str, retry: bool) -> None:
        super().__init__(summary)
        self.summary, self.retry = summary, retry


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
    from tui.core.provider_memory import ProviderMemory

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
            _emit(listener, (), Mark.INFO, summary)
            return CopyResult(CopyOutcome.ALREADY_THERE, summary, folder=known)
    with _Session(profile, imap, listener, password) as session:
        try:
            session.open()
            folder = session.sent_folder()
            session.examine(folder)
            if session.has(message_id):
                return _already_there(session, folder, remember=None)
            if imap.copy == "auto" and not retrying:
                pause = provider_wait() if wait is None else wait
                if pause > 0:
                    session.note(f"not in {folder} yet; checking again in {pause:g} s")
                    time.sleep(pause)
                    session.refresh()
                if pause > 0 and session.has(message_id):
                    return _already_there(session, folder, remember=memory)
            session.append(folder, data, when)
        except CopyFailed as failed:
            session.error(failed.summary)
            return CopyResult(CopyOutcome.FAILED, failed.summary, retry=failed.retry)
    summary = f"copied to {folder} on {imap.host}"
    session.note(summary)
    return CopyResult(CopyOutcome.COPIED, summary, folder=folder)


def _already_there(session: _Session, folder: str, remember: Any) -> CopyResult:
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
    with _Session(profile, imap, listener, password) as session:
        try:
            session.open()
            folder = session.sent_folder()
        except CopyFailed as failed:
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


def choose_sent_folder(folders: Sequence[tuple[Sequence[bytes], Any, str]]) -> str | None:
    """The Sent folder among LIST's (flags, delimiter, name): the one with the \\Sent
    attribute, else the first of SENT_FOLDER_NAMES that exists."""
    usable = [(flags, name) for flags, _delimiter, name in folders if not _noselect(flags)]
    for flags, name in usable:
        if any(flag.lower() == rb"\sent" for flag in flags):
            return name
    names = [name for _flags, name in usable]
    for wanted in SENT_FOLDER_NAMES:
        if wanted in names:
            return wanted
    lowered = {name.lower(): name for name in names}
    for wanted in SENT_FOLDER_NAMES:
        if wanted.lower() in lowered:
            return lowered[wanted.lower()]
    return None


def _noselect(flags: Sequence[bytes]) -> bool:
    return any(flag.lower() in (rb"\noselect", rb"\nonexistent") for flag in flags)


def imap_secrets(username: str | None, password: str | None) -> list[str]:
    """Every form of the password an IMAP transcript could carry: those of SMTP, and the
    quoted string LOGIN sends (backslash and double quote escaped)."""
    forms = secret_forms(username, password)
    if password:
        quoted = password.replace("\\", "\\\\").replace('"', '\\"')
        forms = sorted({*forms, quoted}, key=len, reverse=True)
    return forms


def _emit(listener: Listener | None, secrets: Sequence[str], mark: Mark, text: str) -> None:
    if listener is not None:
        listener(make_event(mark, scrub(f"IMAP {text}", secrets)))


class _Session:
    """One IMAP connection of a profile: each step turns a failure into a CopyFailed."""

    def __init__(
        self,
        profile: Profile,
        imap: ImapSettings,
        listener: Listener | None,
        password: str | None,
    ) -> None:
        self.profile, self.imap, self.listener = profile, imap, listener
        self.username = profile.imap_username or ""
        self.given_password = password
        self.secrets: list[str] = imap_secrets(self.username, password)
        self.client: TracedIMAPClient | None = None
        self.stage = "connect"
        self.folders: tuple[str, ...] = ()

    def __enter__(self) -> _Session:
        return self

    def __exit__(self, *exc: object) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        try:
            if exc[0] is None:
                client.logout()
            else:
                client.shutdown()
        except Exception:
            pass  # the copy is decided; a connection that will not close cleanly is no news

    # -- the transcript ----------------------------------------------------------------------

    def note(self, text: str) -> None:
        _emit(self.listener, self.secrets, Mark.INFO, text)

    def error(self, text: str) -> None:
        _emit(self.listener, self.secrets, Mark.ERROR, text)

    def client_line(self, text: str, in_tls: bool) -> None:
        _emit(self.listener, self.secrets, Mark.CLIENT_TLS if in_tls else Mark.CLIENT, text)

    def server_line(self, text: str, in_tls: bool) -> None:
        _emit(self.listener, self.secrets, Mark.SERVER_TLS if in_tls else Mark.SERVER, text)

    # -- the steps -----------------------------------------------------------------------------

    def open(self) -> None:
        """Connect, set up TLS, check the pin, log in: exactly one login attempt."""
        password = self._password()
        self.secrets = imap_secrets(self.username, password)
        from tui.core.imap_client import TracedIMAPClient
        from tui.core.tls import TlsConfigError, make_tls_context

        imap = self.imap
        try:
            context = make_tls_context(
                self.profile._replace(ca_file=imap.ca_file, tls_fingerprint=imap.tls_fingerprint)
            )
        except TlsConfigError as exc:
            raise CopyFailed(
                str(exc).replace(" of profile", " under [imap] of profile"), False
            ) from None
        self.note(f"connecting to {imap.server} ({imap.security}) to copy to Sent")
        with self._step("connect"):
            self.client = TracedIMAPClient(
                self,
                imap.host,
                imap.effective_port,
                implicit_tls=imap.security == "tls",
                ssl_context=context,
                timeout=self.profile.timeout,
                login_name=self.username,
            )
        if imap.security == "starttls":
            with self._step("starttls"):
                self.client.starttls(context)
        self._tls_established()
        with self._step("login"):
            self.client.login(self.username, password)

    def _password(self) -> str:
        from tui.core.secrets import SecretError, resolve_password, run_password_command

        imap = self.imap
        try:
            if imap.password_command:
                return run_password_command(
                    self.profile._replace(password_command=imap.password_command)
                )
            if self.given_password:
                return self.given_password
            return resolve_password(self.profile)
        except SecretError as exc:
            raise CopyFailed(f"no password for the IMAP login: {exc}", True) from None

    def _tls_established(self) -> None:
        from tui.core.tls import describe_certificate

        assert self.client is not None
        peer = self.client.peer_certificate()
        if peer is None:
            raise CopyFailed(f"{self.imap.server} did not set up TLS", False)
        info = describe_certificate(*peer)
        self.note(f"TLS established: {info.summary()}")
        pin = self.imap.tls_fingerprint
        if pin is not None and info.fingerprint != pin:
            raise CopyFailed(
                f"the certificate of {self.imap.server} ({info.fingerprint}) does not match "
                f"tls_fingerprint under [imap]; nothing was sent to it",
                False,
            )

    def sent_folder(self) -> str:
        assert self.client is not None
        with self._step("list"):
            listed = self.client.list_folders()
        self.folders = tuple(str(name) for _flags, _delimiter, name in listed)
        if self.imap.folder:
            return self.imap.folder
        found = choose_sent_folder(listed)
        if found is None:
            shown = ", ".join(f'"{printable(name)}"' for name in self.folders[:FOLDERS_NAMED])
            more = len(self.folders) - FOLDERS_NAMED
            shown += f" and {more} more" if more > 0 else ""
            raise CopyFailed(
                f"no Sent folder on {self.imap.host}: none has the \\Sent attribute and none "
                f"is called {', '.join(SENT_FOLDER_NAMES)}; it has {shown or 'no folders'}. "
                'Name one with folder = "…" under [imap]',
                False,
            )
        return str(found)

    def examine(self, folder: str) -> None:
        assert self.client is not None
        self._folder = folder
        with self._step("select"):
            self.client.select_folder(folder, readonly=True)

    def has(self, message_id: str) -> bool:
        assert self.client is not None
        if not message_id:
            return False
        with self._step("search"):
            found = self.client.search(["HEADER", "Message-ID", message_id])
        return bool(found)

    def refresh(self) -> None:
        """Let the server tell what arrived in the folder meanwhile."""
        assert self.client is not None
        with self._step("search"):
            self.client.noop()

    def append(self, folder: str, data: bytes, when: datetime) -> None:
        assert self.client is not None
        self._folder = folder
        with self._step("append"):
            self.client.append(folder, data, flags=(rb"\Seen",), msg_time=when)

    # -- failures in words ---------------------------------------------------------------------

    def _step(self, stage: str) -> _Step:
        self.stage = stage
        return _Step(self)

    def explain(self, exc: BaseException) -> CopyFailed:
        """A failed step as one sentence, and whether trying later may work."""
        from tui.core.imap_client import CapabilityError, LoginError
        from tui.core.tls import verify_error_kind

        imap, stage = self.imap, self.stage
        where = imap.server
        said = scrub(printable(_server_words(exc)), self.secrets)
        folder = getattr(self, "_folder", imap.folder or "Sent")
        if isinstance(exc, LoginError):
            return CopyFailed(
                f"{where} refused the IMAP login of {self.username} ({said}); check the "
                "username and password for [imap] (not tried again, so the account is not "
                "locked)",
                False,
            )
        if isinstance(exc, CapabilityError) and stage == "starttls":
            return CopyFailed(
                f'{where} does not offer STARTTLS; use security = "tls" (port 993) under [imap]',
                False,
            )
        if isinstance(exc, ssl.SSLError):
            kind = verify_error_kind(exc)
            reason = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or exc
            fix = "; set ca_file or tls_fingerprint under [imap]" if kind != "tls" else ""
            return CopyFailed(f"TLS with {where} failed ({reason}){fix}", False)
        if isinstance(exc, TimeoutError | socket.timeout):
            return CopyFailed(
                f"{where} did not answer within {self.profile.timeout:g} s during {stage}", True
            )
        if isinstance(exc, socket.gaierror):
            return CopyFailed(f"cannot find {imap.host} ({exc.strerror})", True)
        if isinstance(exc, ConnectionRefusedError):
            return CopyFailed(f"{where} refused the connection", True)
        if isinstance(exc, UnicodeError) and stage == "login":
            return CopyFailed(
                "the IMAP password or username has characters beyond ASCII, which LOGIN "
                "cannot carry",
                False,
            )
        if isinstance(exc, OSError) or _is_abort(exc):
            if stage == "append":
                during = "while the message was being copied (the next try looks for it first)"
            else:
                during = f"during {stage}"
            return CopyFailed(
                f"the connection to {where} broke {during}" + (f": {said}" if said else ""), True
            )
        missing = stage == "select" or (stage == "append" and "[TRYCREATE]" in said.upper())
        if missing:
            return CopyFailed(
                f'{where} has no folder "{printable(folder)}" ({said}); create it, or name '
                'the Sent folder with folder = "…" under [imap]',
                False,
            )
        return CopyFailed(f"{where} refused the {stage.upper()} ({said})", True)


def _is_abort(exc: BaseException) -> bool:
    import imaplib

    return isinstance(exc, imaplib.IMAP4.abort)


def _server_words(exc: BaseException) -> str:
    """What the server said, as the library's error quotes it, without its wrapping."""
    text = str(exc)
    for prefix in ("command: ", "append failed: ", "select failed: ", "search failed: "):
        if text.lower().startswith(prefix):
            text = text[len(prefix) :]
    if text.startswith("b'") or text.startswith('b"'):
        text = text[2:-1]
    return text.strip()[:300]


class _Step:
    """The `with` around one step: any error of the library or the network becomes a
    CopyFailed in words."""

    def __init__(self, session: _Session) -> None:
        self.session = session

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        import imaplib

        if exc is None or isinstance(exc, CopyFailed):
            return
        if isinstance(exc, OSError | imaplib.IMAP4.error | ValueError):
            raise self.session.explain(exc) from None
