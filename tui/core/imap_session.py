"""One IMAP connection of a profile, for the Sent copy: connect, TLS (the pin checked before
anything is sent), exactly one login, find the Sent folder, search, append. Each step that
fails becomes an `ImapStepFailed` that says why in one sentence, and whether trying later
may work; every line and sentence is scrubbed of the password first.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tui.core.profiles import ImapSettings, Profile
from tui.core.redaction import scrub, secret_forms
from tui.core.transcript import Listener, Mark, make_event, printable

if TYPE_CHECKING:
    from tui.core.imap_client import TracedIMAPClient

# Where Sent is, when no folder has the RFC 6154 \Sent attribute: the first of these that
# exists (exact names first, then the same names in any case).
SENT_FOLDER_NAMES = ("Sent", "Sent Items", "Sent Messages", "[Gmail]/Sent Mail", "INBOX.Sent")
FOLDERS_NAMED = 12  # an error lists at most this many of the folders found


class ImapStepFailed(Exception):
    """A step failed; `summary` says why in words, `retry` whether later may do."""

    def __init__(self, summary: str, retry: bool) -> None:
        super().__init__(summary)
        self.summary, self.retry = summary, retry


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
        # As an error message may quote it: a bytes or str literal's escapes.
        escaped = (repr(password.encode("utf-8"))[2:-1], repr(password)[1:-1])
        forms = sorted({*forms, quoted, *escaped}, key=len, reverse=True)
    return forms


def emit(listener: Listener | None, secrets: Sequence[str], mark: Mark, text: str) -> None:
    if listener is not None:
        listener(make_event(mark, scrub(f"IMAP {text}", secrets)))


class ImapSession:
    """One IMAP connection of a profile: each step turns a failure into a ImapStepFailed."""

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
        self.broken = False  # the connection broke: it is closed, not logged out of

    def __enter__(self) -> ImapSession:
        return self

    def __exit__(self, *exc: object) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        try:
            if exc[0] is None and not self.broken:
                client.logout()
            else:
                client.shutdown()
        except Exception:
            pass  # the copy is decided; a connection that will not close cleanly is no news

    # -- the transcript ----------------------------------------------------------------------

    def scrub(self, text: str) -> str:
        return scrub(printable(text), self.secrets)

    def note(self, text: str) -> None:
        emit(self.listener, self.secrets, Mark.INFO, text)

    def error(self, text: str) -> None:
        emit(self.listener, self.secrets, Mark.ERROR, text)

    def client_line(self, text: str, in_tls: bool) -> None:
        emit(self.listener, self.secrets, Mark.CLIENT_TLS if in_tls else Mark.CLIENT, text)

    def server_line(self, text: str, in_tls: bool) -> None:
        emit(self.listener, self.secrets, Mark.SERVER_TLS if in_tls else Mark.SERVER, text)

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
            raise ImapStepFailed(
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
            raise ImapStepFailed(f"no password for the IMAP login: {exc}", True) from None

    def _tls_established(self) -> None:
        from tui.core.tls import describe_certificate

        assert self.client is not None
        peer = self.client.peer_certificate()
        if peer is None:
            raise ImapStepFailed(f"{self.imap.server} did not set up TLS", False)
        info = describe_certificate(*peer)
        self.note(f"TLS established: {info.summary()}")
        pin = self.imap.tls_fingerprint
        if pin is not None and info.fingerprint != pin:
            raise ImapStepFailed(
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
            raise ImapStepFailed(
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

    def explain(self, exc: BaseException) -> ImapStepFailed:
        """A failed step as one sentence, and whether trying later may work."""
        from tui.core.imap_client import CapabilityError, LoginError
        from tui.core.tls import verify_error_kind

        imap, stage = self.imap, self.stage
        where = imap.server
        said = scrub(printable(_server_words(exc)), self.secrets)
        folder = getattr(self, "_folder", imap.folder or "Sent")
        if isinstance(exc, LoginError):
            return ImapStepFailed(
                f"{where} refused the IMAP login of {self.username} ({said}); check the "
                "username and password for [imap] (not tried again, so the account is not "
                "locked)",
                False,
            )
        if isinstance(exc, CapabilityError) and stage == "starttls":
            return ImapStepFailed(
                f'{where} does not offer STARTTLS; use security = "tls" (port 993) under [imap]',
                False,
            )
        if isinstance(exc, ssl.SSLError) and stage in ("connect", "starttls"):
            kind = verify_error_kind(exc)
            reason = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or exc
            fix = "; set ca_file or tls_fingerprint under [imap]" if kind != "tls" else ""
            return ImapStepFailed(f"TLS with {where} failed ({reason}){fix}", False)
        if isinstance(exc, TimeoutError | socket.timeout):
            self.broken = True
            return ImapStepFailed(
                f"{where} did not answer within {self.profile.timeout:g} s during {stage}", True
            )
        if isinstance(exc, socket.gaierror):
            return ImapStepFailed(f"cannot find {imap.host} ({exc.strerror})", True)
        if isinstance(exc, ConnectionRefusedError):
            return ImapStepFailed(f"{where} refused the connection", True)
        if isinstance(exc, UnicodeError) and stage == "login":
            return ImapStepFailed(
                "the IMAP password or username has characters beyond ASCII, which LOGIN "
                "cannot carry",
                False,
            )
        if isinstance(exc, OSError) or _is_abort(exc):
            self.broken = True
            if stage == "append":
                during = "while the message was being copied (the next try looks for it first)"
            else:
                during = f"during {stage}"
            return ImapStepFailed(
                f"the connection to {where} broke {during}" + (f": {said}" if said else ""), True
            )
        missing = stage == "select" or (stage == "append" and "[TRYCREATE]" in said.upper())
        if missing:
            return ImapStepFailed(
                f'{where} has no folder "{printable(folder)}" ({said}); create it, or name '
                'the Sent folder with folder = "…" under [imap]',
                False,
            )
        return ImapStepFailed(f"{where} refused the {stage.upper()} ({said})", True)


def _is_abort(exc: BaseException) -> bool:
    import imaplib

    return isinstance(exc, imaplib.IMAP4.abort)


def _server_words(exc: BaseException) -> str:
    """What the server said, as the library's error quotes it, without its wrapping: imaplib
    quotes a refusal as a bytes literal (b'…', escapes and all), read back here."""
    import ast
    import re

    text = re.sub(r"^(?:command: \w+ => |\w+ failed: )", "", str(exc))
    if re.fullmatch(r"b(['\"]).*\1", text, re.DOTALL):
        with contextlib.suppress(ValueError, SyntaxError):
            text = ast.literal_eval(text).decode("utf-8", "replace")
    return text.strip()[:300]


class _Step:
    """The `with` around one step: any error of the library or the network becomes a
    ImapStepFailed in words."""

    def __init__(self, session: ImapSession) -> None:
        self.session = session

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        import imaplib

        if exc is None or isinstance(exc, ImapStepFailed):
            return
        if isinstance(exc, OSError | imaplib.IMAP4.error | ValueError):
            raise self.session.explain(exc) from None
