"""One SMTP session over aiosmtplib: connect, TLS, AUTH, envelope, DATA, QUIT.

Every command and reply is reported live to a listener as a redacted `TranscriptEvent`,
so the CLI and the app are both just listeners. Security never falls back: a `starttls`
profile stops before AUTH or MAIL when TLS cannot be had, and credentials never travel
over a plain connection.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import errno
import itertools
import re
import socket
import ssl
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol

import aiosmtplib
from aiosmtplib.esmtp import parse_esmtp_extensions
from aiosmtplib.response import SMTPResponse
from aiosmtplib.typing import Default

from tui.core.message import Prepared
from tui.core.network import AddressInfos, literal_address_infos
from tui.core.profiles import Profile
from tui.core.results import PHASES, Failure, RecipientResult
from tui.core.transcript import REDACTED, Listener, Mark, StateChange, make_event, printable

if TYPE_CHECKING:  # tls is imported only by sessions that use TLS
    from tui.core.tls import CertificateInfo

CHUNK_SIZE = 64 * 1024
AUTH_PREFERENCE = ("PLAIN", "LOGIN", "CRAM-MD5")
ESMTP_OFFERS = ("STARTTLS", "AUTH", "SIZE", "SMTPUTF8", "8BITMIME", "PIPELINING")
# RFC 8305's connection attempt delay: how long one address has before the next is tried too.
HAPPY_EYEBALLS_DELAY = 0.25
# At most this long for a second look at a port whose first answer made no sense.
_PROBE_LIMIT = 5.0


async def _addresses(host: str, port: int) -> AddressInfos:
    """The addresses to try for host:port. A literal IP address needs no lookup, and so no
    thread (a name lookup blocks, so the event loop hands it to one)."""
    literal = literal_address_infos(host, port, socket.SOCK_STREAM)
    if literal:
        return literal
    return await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)


def _interleaved(infos: AddressInfos) -> AddressInfos:
    """The addresses in the resolver's order of preference, alternating IP versions (RFC 8305,
    section 4), so that a broken IPv6 route delays the first IPv4 address by one step only."""
    by_family: dict[int, list[Any]] = {}
    for info in infos:
        by_family.setdefault(info[0], []).append(info)
    rounds = itertools.zip_longest(*by_family.values())
    return [info for round_ in rounds for info in round_ if info is not None]


def _address_text(address: Any) -> str:
    """A socket address as people write it: 192.0.2.1:25, [2001:db8::1]:25."""
    host, port = address[0], address[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class _Unbound(Exception):
    """The source address could not be bound for this server address (see `_race`)."""


class UnexpectedReply(aiosmtplib.SMTPException):
    """The server sent more than the one reply the command asked for."""


class Stop(Exception):
    """Ends the session early with the observed failure."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.stage)
        self.failure = failure


class Journal(Protocol):
    """Who must know, durably, how far a message got (the outbox)."""

    async def end_of_data(self, index: int) -> None:
        """Called before the final dot of message `index` leaves; once it returns, the dot
        goes out. Raising OSError stops the message before its end (not sent)."""

    def accepted(self, index: int, message: MessageReport) -> None:
        """The server accepted message `index` (a 250 after its end of data), before QUIT."""


class MessageReport:
    """What happened to one message of the session (or to the envelope of a check)."""

    def __init__(self) -> None:
        self.recipients: list[RecipientResult] = []
        self.failure: Failure | None = None
        self.accepted = False  # the server accepted the message data
        self.end_sent = False  # the final dot was written: from here on, maybe delivered
        self.size: int | None = None

    @property
    def attempted(self) -> bool:
        return self.accepted or self.failure is not None or bool(self.recipients)


class SessionReport:
    """What the session saw: per-message results, timings, the server's offers.

    `failure` is set when the session itself broke (connection, TLS, login, a dropped
    connection mid-batch); messages after that point were not attempted.
    """

    def __init__(self) -> None:
        self.messages: list[MessageReport] = []
        self.timings: dict[str, float] = {}
        self.offers: dict[str, str] = {}
        self.certificate: CertificateInfo | None = None
        self.failure: Failure | None = None
        self.greeting = ""
        self.ehlo_text = ""

    def outcome_of(self, index: int) -> Failure | None:
        """The failure that decided message `index`: its own, the session's when the session
        broke before or during it, or "not tried" when it broke before this message's turn."""
        message = self.messages[index]
        if message.accepted:
            return None
        if message.failure is not None:
            return message.failure
        earlier = any(m.attempted for m in self.messages[:index])
        if self.failure is not None and not message.attempted and earlier:
            # An earlier message of a flush used up the connection; this one never left.
            return Failure(self.failure.stage, error="not-tried")
        return self.failure


# Failures after which the connection cannot carry another message.
_BREAKING_ERRORS = {
    "timeout",
    "disconnected",
    "unknown-outcome",
    "protocol",
    "cancelled",
    "early-reply",
    "early-refusal",
    "local-io",
}


def secret_forms(username: str | None, password: str | None) -> list[str]:
    """The password and every encoding of it that a transcript could carry."""
    if not password:
        return []
    user = username or ""
    raw = [
        password,
        f"\0{user}\0{password}",
        f"{user}\0{password}",
        f"user={user}\x01auth=Bearer {password}\x01\x01",
    ]
    forms = {password}
    for item in raw:
        forms.add(base64.b64encode(item.encode("utf-8")).decode("ascii"))
    return sorted(forms, key=len, reverse=True)


# What may sit between two pieces of a secret split over the lines of a multi-line reply:
# the line break, the next line's code ("535-", "535 ") and enhanced status code ("5.7.8").
_LINE_START = re.compile(r"\s*(?:\d{3}(?:[ -]|$))?\s*(?:\d\.\d{1,3}\.\d{1,3}(?:\s|$))?\s*")


def scrub(text: str, secrets: Sequence[str]) -> str:
    """`text` with every secret form replaced by ********, also one the server split over
    the lines of a reply: the lines are also searched joined together, with and without
    a space between them and their line codes."""
    secrets = [secret for secret in secrets if secret]
    if not secrets or ("\n" not in text and not any(s in text for s in secrets)):
        return text
    lines = text.split("\n")
    # Every way of reading the reply is searched before anything is replaced: one form
    # replaced first could break up another that overlaps it.
    ways = [("\n", False)]
    if len(lines) > 1:
        ways += [("", False), (" ", False), ("", True), (" ", True)]
    hidden: set[tuple[int, int]] = set()  # (line, column) of each character to redact
    for separator, codes in ways:
        joined: list[str] = []
        origin: list[tuple[int, int] | None] = []  # where each joined character came from
        for number, line in enumerate(lines):
            start = _LINE_START.match(line) if codes else None
            first = start.end() if start else 0
            last = len(line.rstrip()) if codes or separator != "\n" else len(line)
            if number and separator:
                joined.append(separator)
                origin.append(None)
            joined.extend(line[first:last])
            origin.extend((number, column) for column in range(first, last))
        flat = "".join(joined)
        for secret in secrets:
            at = flat.find(secret)
            while at != -1:
                hidden.update(o for o in origin[at : at + len(secret)] if o is not None)
                at = flat.find(secret, at + 1)
    if not hidden:
        return text
    shown = []
    for number, line in enumerate(lines):
        kept: list[str] = []
        hiding = False
        for column, char in enumerate(line):
            if (number, column) not in hidden:
                kept.append(char)
            elif not hiding:
                kept.append(REDACTED)
            hiding = (number, column) in hidden
        shown.append("".join(kept))
    return "\n".join(shown)


class TracingSMTP(aiosmtplib.SMTP):
    """aiosmtplib's client, reporting every command and reply to the session."""

    def __init__(self, session: SmtpSession, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._session = session
        self._last_code = 0

    @property
    def in_tls(self) -> bool:
        transport = self.transport
        return transport is not None and transport.get_extra_info("ssl_object") is not None

    async def execute_command(
        self,
        *args: bytes,
        timeout: float | Literal[Default.token] | None = Default.token,  # noqa: ASYNC109
    ) -> SMTPResponse:
        in_tls = self.in_tls  # a reply comes back the way its command went
        self._session.client_line(self._redacted(args), in_tls)
        response = await super().execute_command(*args, timeout=timeout)
        self._last_code = response.code
        # aiosmtplib raises its errors from the reply returned here: they carry it scrubbed.
        response = self._session.server_reply(response, in_tls)
        if args[:1] != (b"STARTTLS",):  # upgrade_to_tls judges what follows its 220
            self.refuse_extra_replies()
        return response

    def refuse_extra_replies(self) -> None:
        """mailtui never pipelines, so a second reply in the buffer was not asked for: it
        would be taken as the answer to the next command (a server bug, or an injection)."""
        protocol = self.protocol
        if protocol is not None and protocol._buffer:
            # Scrubbed whole, before it is cut short or repr() hides its line breaks.
            extra = bytes(protocol._buffer[:65536]).decode("utf-8", "replace")
            extra = self._session._scrub(extra)[:200]
            del protocol._buffer[:]
            self._session.emit(Mark.ERROR, f"unexpected data from the server: {extra!r}")
            self.close()
            raise UnexpectedReply("the server sent a reply nobody asked for")

    def _redacted(self, args: tuple[bytes, ...]) -> str:
        if self._last_code == 334:
            return REDACTED
        words = [a.decode("utf-8", "surrogateescape") for a in args]
        if words and words[0].upper() == "AUTH" and len(words) > 2:
            return f"{words[0]} {words[1]} {REDACTED}"
        return " ".join(words)

    async def upgrade_to_tls(self, context: ssl.SSLContext, server_hostname: str) -> SMTPResponse:
        """STARTTLS, refusing to go on if anything follows the server's 220 before the handshake.

        aiosmtplib silently discards such bytes; an attacker who injected them may have
        injected replies too, so the session is aborted instead (RFC 3207, section 4.2).
        """
        response = await self.execute_command(b"STARTTLS")
        if response.code != 220:
            return response
        protocol = self.protocol
        assert protocol is not None and protocol.transport is not None
        if protocol._buffer:
            injected = bytes(protocol._buffer)
            del protocol._buffer[:]
            self.close()
            raise Stop(
                Failure(
                    "starttls",
                    error="starttls-injection",
                    detail=f"{len(injected)} bytes after 220",
                )
            )
        loop = asyncio.get_running_loop()
        tls_transport = await loop.start_tls(
            protocol.transport,  # type: ignore[arg-type]
            protocol,
            context,
            server_side=False,
            server_hostname=server_hostname,
            ssl_handshake_timeout=self.timeout,
        )
        protocol.transport = tls_transport
        protocol._over_ssl = True
        self.transport = tls_transport
        self._reset_server_state()
        self._last_code = 0
        return response


class SmtpSession:
    """Runs one session for a profile and reports it; `run()` never raises for SMTP failures."""

    def __init__(
        self,
        profile: Profile,
        password: str | None,
        listener: Listener,
        journal: Journal | None = None,
    ) -> None:
        self.profile = profile
        self.password = password
        self.listener = listener
        self.journal = journal
        self.secrets = secret_forms(profile.username, password)
        self.report = SessionReport()
        self._smtp: TracingSMTP | None = None
        self._phase_started = 0.0
        self._peer: Any = None  # the address (getaddrinfo's tuple) the session connected to
        self._bind_error: OSError | None = None  # the source address fits no server address

    # -- reporting -------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        return scrub(text, self.secrets)

    def _scrub_report(self) -> None:
        """Scrub what the report keeps of the server's words (failures come from replies and
        from aiosmtplib's errors quoting them), once, whatever way the session ended."""
        report = self.report
        if report.failure is not None:
            report.failure = self._scrub_failure(report.failure)
        for message in report.messages:
            if message.failure is not None:
                message.failure = self._scrub_failure(message.failure)
            message.recipients = [r._replace(text=self._scrub(r.text)) for r in message.recipients]

    def _scrub_failure(self, failure: Failure) -> Failure:
        return failure._replace(text=self._scrub(failure.text), detail=self._scrub(failure.detail))

    def emit(self, mark: Mark, text: str) -> None:
        self.listener(make_event(mark, self._scrub(text)))

    def state(self, name: str, progress: float | None = None) -> None:
        self.listener(StateChange(name, progress))

    def client_line(self, text: str, in_tls: bool) -> None:
        self.emit(Mark.CLIENT_TLS if in_tls else Mark.CLIENT, text)

    def server_reply(self, response: SMTPResponse, in_tls: bool) -> SMTPResponse:
        """Report a reply, scrubbed as a whole (a secret may be split over its lines), and
        return it scrubbed: nothing of the server's words goes further unscrubbed."""
        mark = Mark.SERVER_TLS if in_tls else Mark.SERVER
        message = self._scrub(response.message)
        lines = message.split("\n") if message else [""]
        for index, line in enumerate(lines):
            sep = "-" if index < len(lines) - 1 else " "
            self.emit(mark, f"{response.code}{sep}{line}".rstrip())
        return SMTPResponse(response.code, message)

    def _timed(self, phase: str, started: float) -> None:
        self.report.timings[phase] = (
            self.report.timings.get(phase, 0.0) + (time.perf_counter() - started) * 1000
        )

    # -- the session -------------------------------------------------------------------------

    async def run(
        self,
        messages: Sequence[Prepared] = (),
        check_rcpt: Iterable[str] | None = None,
    ) -> SessionReport:
        """Send `messages` over one connection (RSET between them), or, with `check_rcpt`,
        run a check: MAIL and RCPT, then RSET, no DATA."""
        check = check_rcpt is not None
        self.report.messages = [MessageReport() for _ in range(1 if check else len(messages))]
        started = time.perf_counter()
        try:
            await self._run(messages, None if check_rcpt is None else list(check_rcpt))
        except Stop as stop:
            self.report.failure = stop.failure
            await self._part(stop.failure)
        except asyncio.CancelledError:
            self._close()
            if self._in_doubt():
                self.emit(
                    Mark.ERROR,
                    "cancelled after the end of the message had left: it may have been delivered",
                )
            else:
                self.emit(Mark.ERROR, "cancelled by the user")
            self.state("cancelled")
            self.report.failure = Failure("cancelled", error="cancelled")
            raise
        except Exception as exc:  # a fault of mailtui's own must not lose what is known
            self._close()
            self.emit(Mark.ERROR, f"internal error: {type(exc).__name__}: {exc}")
            self._in_doubt()
            self.report.failure = Failure("session", error="protocol", detail=str(exc))
        finally:
            self._scrub_report()
            self.report.timings["total"] = (time.perf_counter() - started) * 1000
            self.emit(Mark.INFO, "timings: " + format_timings(self.report.timings))
        return self.report

    def _in_doubt(self) -> bool:
        """Mark a message whose end of data left without a reply as of unknown outcome."""
        doubt = False
        for message in self.report.messages:
            if message.end_sent and not message.accepted and message.failure is None:
                message.failure = Failure("data-end", error="unknown-outcome")
                doubt = True
        return doubt

    def _close(self) -> None:
        if self._smtp is not None:
            self._smtp.close()

    async def _part(self, failure: Failure) -> None:
        """After a refusal the server gets its QUIT (RFC 5321 4.1.1.10); after a broken,
        stalled or tampered connection there is nothing left to say on it."""
        polite = failure.error is None or failure.error in ("starttls-missing", "auth-method")
        smtp = self._smtp
        if polite and smtp is not None and smtp.is_connected:
            await self._quit(smtp)
        else:
            self._close()

    async def _run(self, messages: Sequence[Prepared], check_rcpt: list[str] | None) -> None:
        profile = self.profile
        if profile.logs_in and profile.security == "none":
            raise Stop(Failure("config", error="plaintext-auth"))
        smtp = await self._connect()
        await self._ehlo(smtp)
        if profile.security == "starttls":
            await self._starttls(smtp)
        elif profile.security == "none":
            self.emit(Mark.INFO, "plain connection: this profile does not use TLS")
        if profile.logs_in:
            await self._authenticate(smtp)

        if check_rcpt is not None:
            await self._check_envelope(smtp, self.report.messages[0], check_rcpt)
        for index, prepared in enumerate(messages):
            current = self.report.messages[index]
            if index:
                await self._reset(smtp)
            try:
                await self._send(smtp, prepared, current, index)
            except Stop as stop:
                current.failure = stop.failure
                if stop.failure.error in _BREAKING_ERRORS:
                    raise
        await self._quit(smtp)

    async def _connect(self) -> TracingSMTP:
        profile = self.profile
        source = f" from {profile.source_address}" if profile.source_address else ""
        self.state("connecting")
        self.emit(
            Mark.INFO,
            f"connecting to {profile.server} ({profile.security}){source}",
        )
        # Loading the trust store takes a while: do it while the TCP handshake runs.
        tls_ready = None
        if profile.security != "none":
            from tui.core.tls import TlsConfigError, make_tls_context

            tls_ready = asyncio.ensure_future(asyncio.to_thread(make_tls_context, profile))
        started = time.perf_counter()
        try:
            sock = await self._open_socket()
        except BaseException:
            if tls_ready is not None:
                tls_ready.cancel()
            raise
        self._timed("connect", started)
        context = None
        if tls_ready is not None:
            try:
                context = await tls_ready
            except TlsConfigError as exc:
                sock.close()
                self.emit(Mark.ERROR, str(exc))
                raise Stop(Failure("config", error="config", detail=str(exc))) from None
        smtp = TracingSMTP(
            self,
            hostname=profile.host,
            sock=sock,
            use_tls=profile.security == "tls",
            start_tls=False,
            tls_context=context,
            local_hostname=profile.helo or _default_helo(),
            timeout=profile.timeout,
        )
        self._smtp = smtp
        started = time.perf_counter()
        try:
            greeting = await smtp.connect()
        except aiosmtplib.SMTPConnectResponseError as exc:
            self._timed("greeting", started)
            refusal = self.server_reply(SMTPResponse(exc.code, exc.message), smtp.in_tls)
            raise Stop(Failure("greeting", code=exc.code, text=refusal.message)) from None
        except aiosmtplib.SMTPTimeoutError:
            self.emit(Mark.ERROR, f"no greeting from the server within {profile.timeout:g} s")
            smtp.close()
            if profile.security != "tls" and await self._expects_tls():
                raise Stop(Failure("greeting", error="expects-tls")) from None
            raise Stop(Failure("greeting", error="timeout")) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            cause = exc.__cause__
            if isinstance(cause, ssl.SSLError):
                raise Stop(await self._tls_failure(cause)) from None
            if isinstance(exc, ssl.SSLError):
                raise Stop(await self._tls_failure(exc)) from None
            self.emit(Mark.ERROR, f"the server closed the connection before greeting: {exc}")
            raise Stop(Failure("greeting", error="disconnected")) from None
        self._timed("greeting", started)
        greeting = self.server_reply(greeting, smtp.in_tls)
        self.report.greeting = greeting.message
        try:
            smtp.refuse_extra_replies()
        except UnexpectedReply as exc:
            raise Stop(Failure("greeting", error="protocol", detail=str(exc))) from None
        if smtp.in_tls:
            self._tls_established(smtp)
        return smtp

    async def _open_socket(self) -> socket.socket:
        """TCP connection to the profile's server, from its source address when it has one.

        A name with several addresses is raced as RFC 8305 (Happy Eyeballs) says: the next
        address is tried when the one before has not connected within 250 ms (at once when it
        fails), each with the profile's timeout; the first to connect wins, the others are
        closed. A dead address, or a broken IPv6 route in front of working IPv4, costs 250 ms.
        """
        profile = self.profile
        where = profile.server
        try:
            async with asyncio.timeout(profile.timeout):
                infos = await _addresses(profile.host, profile.effective_port)
            return await self._race(_interleaved(infos))
        except TimeoutError:
            self.emit(Mark.ERROR, f"connecting to {where} timed out after {profile.timeout:g} s")
            raise Stop(Failure("connect", error="timeout")) from None
        except socket.gaierror as exc:
            self.emit(Mark.ERROR, f"cannot find {profile.host}: {exc.strerror}")
            raise Stop(
                Failure(
                    "connect", error="unreachable", detail=f"name lookup failed: {exc.strerror}"
                )
            ) from None
        except ConnectionRefusedError:
            self.emit(Mark.ERROR, f"connection to {where} refused")
            raise Stop(Failure("connect", error="refused")) from None
        except OSError as exc:
            reason = exc.strerror or str(exc)
            self.emit(Mark.ERROR, f"cannot reach {where}: {reason}")
            raise Stop(Failure("connect", error="unreachable", detail=reason)) from None

    async def _race(self, infos: AddressInfos) -> socket.socket:
        """Connect to the first of `infos` that answers (see `_open_socket`); raises the error
        of the last attempt to fail, or Stop when the source address fits none of them."""
        profile = self.profile
        several = len(infos) > 1
        errors: list[BaseException] = []
        waiting = list(infos)
        running: dict[asyncio.Task[socket.socket], Any] = {}
        try:
            while waiting or running:
                if waiting:
                    info = waiting.pop(0)
                    if several:
                        self.emit(Mark.INFO, f"trying {_address_text(info[4])}")
                    running[asyncio.ensure_future(self._connect_to(info))] = info
                done, _ = await asyncio.wait(
                    running,
                    timeout=HAPPY_EYEBALLS_DELAY if waiting else None,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                for task in done:
                    info = running.pop(task)
                    shown = _address_text(info[4])
                    error = task.exception()
                    if error is None:
                        if shown != profile.server:
                            self.emit(Mark.INFO, f"connected to {shown}")
                        self._peer = info
                        return task.result()  # any other winner is closed below
                    if not isinstance(error, _Unbound):
                        errors.append(error)
                        if several:
                            reason = getattr(error, "strerror", None) or "timed out"
                            self.emit(Mark.INFO, f"{shown}: {reason}")
        finally:
            for task in running:
                task.cancel()
            if running:
                await asyncio.wait(running)
                for task in running:
                    if not task.cancelled() and task.exception() is None:
                        task.result().close()
        if not errors and self._bind_error is not None:
            raise Stop(self._unusable_source(self._bind_error))
        if errors:
            raise errors[-1]
        raise OSError(f"no address for {profile.host}")

    async def _connect_to(self, info: Any) -> socket.socket:
        """One TCP connection to one address, from the source address, within the timeout."""
        family, kind, proto, _name, address = info
        profile = self.profile
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            if profile.source_address:
                try:
                    sock.bind((profile.source_address, 0))
                except OSError as exc:  # not ours, or the other IP version
                    self._bind_error = self._bind_error or exc
                    raise _Unbound from exc
            async with asyncio.timeout(profile.timeout):
                await asyncio.get_running_loop().sock_connect(sock, address)
        except BaseException:
            sock.close()
            raise
        return sock

    async def _expects_tls(self) -> bool:
        """After a greeting that never came: does the port answer a TLS handshake instead?
        Then it expects TLS from the first byte (as 465 does), and the profile's security is
        a setting to change, not a temporary failure. Only a TLS hello is sent."""
        from tui.core.tls import speaks_tls

        where = _address_text(self._peer[4])
        self.emit(Mark.INFO, f"checking whether {where} expects TLS from the start")
        limit = min(self.profile.timeout, _PROBE_LIMIT)
        try:
            async with asyncio.timeout(limit):
                sock = await self._connect_to(self._peer)
                found = await speaks_tls(sock, self.profile.host, limit)
        except (OSError, _Unbound):  # TimeoutError included: nothing to tell
            return False
        if found:
            self.emit(Mark.INFO, f"{where} answered a TLS handshake: it expects TLS at once")
        return found

    async def _greets_in_plain(self) -> bool:
        """After a TLS handshake that read garbage: does the port greet in plain text ("220 …")?
        Then it speaks SMTP first (STARTTLS or none), and security = "tls" is the mistake.
        Nothing is sent on this connection."""
        where = _address_text(self._peer[4])
        self.emit(Mark.INFO, f"checking whether {where} greets in plain text")
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(min(self.profile.timeout, _PROBE_LIMIT)):
                sock = await self._connect_to(self._peer)
                try:
                    first = b""
                    while len(first) < 4 and (more := await loop.sock_recv(sock, 512)):
                        first += more
                finally:
                    sock.close()
        except (OSError, _Unbound):  # TimeoutError included: nothing to tell
            return False
        found = re.match(rb"[2-5][0-9][0-9][ -]", first) is not None
        if found:
            self.emit(Mark.INFO, f"{where} greets in plain text: it does not expect TLS at once")
        return found

    def _unusable_source(self, exc: OSError) -> Failure:
        """A source_address the system will not connect from: a profile problem, not the
        network's, so it is not worth retrying until the profile changes."""
        profile = self.profile
        source = profile.source_address
        if exc.errno == errno.EADDRNOTAVAIL:
            reason = "it is not an address of this machine"
        elif isinstance(exc, socket.gaierror) or exc.errno == errno.EAFNOSUPPORT:
            reason = f"{profile.host} is not reached over the IP version of {source}"
        else:
            reason = exc.strerror or str(exc)
        self.emit(Mark.ERROR, f"cannot connect from {source}: {reason}")
        detail = (
            f"Profile {profile.id} sets source_address = {source!r}, but {reason}; change it "
            "to an address of this machine, or remove it to let the system choose."
        )
        return Failure("config", error="config", detail=detail)

    async def _tls_failure(self, exc: BaseException) -> Failure:
        """Describe a failed handshake; for a bad certificate, fetch it to show its fingerprint."""

        from tui.core.tls import fetch_certificate, verify_error_kind

        kind = verify_error_kind(exc)
        reason = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or str(exc)
        self.emit(Mark.ERROR, f"TLS failed: {reason}")
        # Implicit TLS that read something other than TLS (not an alert from a TLS server):
        # a port that speaks plain SMTP first is a setting to change, not a TLS failure.
        implicit = self.profile.security == "tls" and self._peer is not None
        alert = "ALERT" in str(reason).upper()
        if kind == "tls" and implicit and not alert and await self._greets_in_plain():
            return Failure("tls", error="expects-plain", detail=str(reason))
        detail = ""
        if kind.startswith("cert"):
            info = await fetch_certificate(self.profile)
            if info is not None:
                self.report.certificate = info
                self.emit(Mark.INFO, f"server certificate: {info.summary()}")
                detail = f" (its fingerprint is {info.fingerprint})"
        return Failure("tls", error=kind, detail=detail if kind.startswith("cert") else str(reason))

    def _tls_established(self, smtp: TracingSMTP) -> None:
        from tui.core.tls import describe_certificate

        ssl_object = smtp.get_transport_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True)
        info = describe_certificate(
            der, ssl_object.getpeercert(), ssl_object.version(), ssl_object.cipher()[0]
        )
        self.report.certificate = info
        self.emit(Mark.INFO, f"TLS established: {info.summary()}")
        pin = self.profile.tls_fingerprint
        if pin is not None:
            if info.fingerprint != pin:
                self.emit(Mark.ERROR, f"certificate fingerprint does not match the pin {pin}")
                raise Stop(Failure("tls", error="pin-mismatch", detail=f"got {info.fingerprint}"))
            self.emit(Mark.INFO, "certificate matches the pinned fingerprint")

    async def _ehlo(self, smtp: TracingSMTP) -> None:
        started = time.perf_counter()
        try:
            response = await smtp.ehlo()
        except aiosmtplib.SMTPHeloError as exc:
            if exc.code in (500, 502) and smtp.is_connected and not self.profile.logs_in:
                helo = await self._command(smtp, "ehlo", smtp.helo())
                if helo.code != 250:
                    raise Stop(Failure("ehlo", code=helo.code, text=helo.message)) from None
                self._timed("ehlo", started)
                return
            raise Stop(Failure("ehlo", code=exc.code, text=exc.message)) from None
        except aiosmtplib.SMTPException as exc:
            raise Stop(self._exchange_failure("ehlo", exc)) from None
        self._timed("ehlo", started)
        self.report.ehlo_text = response.message
        extensions, _auth = parse_esmtp_extensions(response.message)
        # Only what the server says inside TLS counts (RFC 3207); STARTTLS itself is
        # remembered from before, since the second EHLO no longer offers it.
        offered_tls = {"STARTTLS": ""} if "STARTTLS" in self.report.offers else {}
        self.report.offers = offered_tls | {
            name: printable(extensions[name.lower()])
            for name in ESMTP_OFFERS
            if name.lower() in extensions
        }

    async def _command(self, smtp: TracingSMTP, stage: str, call: Any) -> SMTPResponse:
        try:
            response: SMTPResponse = await call
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code < 100:  # aiosmtplib's code for a reply it could not read
                raise Stop(self._exchange_failure(stage, exc)) from None
            raise Stop(Failure(stage, code=exc.code, text=exc.message)) from None
        except aiosmtplib.SMTPException as exc:
            raise Stop(self._exchange_failure(stage, exc)) from None
        return response

    def _exchange_failure(self, stage: str, exc: BaseException) -> Failure:
        if isinstance(exc, aiosmtplib.SMTPTimeoutError | TimeoutError):
            self.emit(Mark.ERROR, f"timed out after {self.profile.timeout:g} s during {stage}")
            return Failure(stage, error="timeout")
        if isinstance(exc, aiosmtplib.SMTPServerDisconnected | ConnectionError):
            self.emit(Mark.ERROR, f"the server closed the connection during {stage}")
            return Failure(stage, error="disconnected")
        if isinstance(exc, aiosmtplib.SMTPResponseException):
            self.emit(Mark.ERROR, f"unreadable reply during {stage}: {exc.message}")
            return Failure(stage, error="protocol", detail=exc.message)
        self.emit(Mark.ERROR, f"{stage} failed: {exc}")
        return Failure(stage, error="protocol", detail=str(exc))

    async def _starttls(self, smtp: TracingSMTP) -> None:
        if not smtp.supports_extension("starttls"):
            self.emit(
                Mark.ERROR, "the server does not offer STARTTLS; stopping before AUTH or MAIL"
            )
            raise Stop(Failure("starttls", error="starttls-missing"))
        self.state("tls")
        started = time.perf_counter()
        context = smtp.tls_context
        assert context is not None
        try:
            response = await smtp.upgrade_to_tls(context, self.profile.host)
        except ssl.SSLError as exc:
            raise Stop(await self._tls_failure(exc)) from None
        except (aiosmtplib.SMTPException, ConnectionError, TimeoutError) as exc:
            raise Stop(self._exchange_failure("starttls", exc)) from None
        if response.code != 220:
            raise Stop(Failure("starttls", code=response.code, text=response.message))
        self._timed("tls", started)
        self._tls_established(smtp)
        await self._ehlo(smtp)

    async def _authenticate(self, smtp: TracingSMTP) -> None:
        profile = self.profile
        offered = [m.upper() for m in smtp.server_auth_methods]
        method = profile.auth.upper()
        if method == "AUTO":
            method = next((m for m in AUTH_PREFERENCE if m in offered), "")
        if not offered or method not in offered:
            listed = ", ".join(offered) if offered else "no login at all"
            wanted = "a method mailtui knows" if profile.auth == "auto" else f"AUTH {method}"
            self.emit(Mark.ERROR, f"the server offers {listed}, not {wanted}")
            raise Stop(
                Failure(
                    "auth",
                    error="auth-method",
                    detail=f"The server {profile.host} offers {listed}, not {wanted}; set auth "
                    f"in profile {profile.id} to one it offers"
                    + (' (or "none" if it trusts this network).' if not offered else "."),
                )
            )
        assert self.password is not None and profile.username is not None
        self.state("authenticating")
        started = time.perf_counter()
        calls = {
            "PLAIN": smtp.auth_plain,
            "LOGIN": smtp.auth_login,
            "CRAM-MD5": smtp.auth_crammd5,
            "XOAUTH2": smtp.auth_xoauth2,
        }
        # Exactly one AUTH: a wrong password must not be retried through other methods.
        await self._command(smtp, "auth", calls[method](profile.username, self.password))
        self._timed("auth", started)

    async def _envelope(
        self,
        smtp: TracingSMTP,
        current: MessageReport,
        sender: str,
        rcpts: Sequence[str],
        size: int | None,
        smtputf8: bool,
    ) -> list[str]:
        """MAIL FROM and RCPT TO; returns the accepted recipients, raising if none is."""
        started = time.perf_counter()
        options: list[bytes] = []
        if size is not None and smtp.supports_extension("size"):
            options.append(f"SIZE={size}".encode())
        if smtputf8:
            options.append(b"SMTPUTF8")
        if smtp.supports_extension("8bitmime"):
            options.append(b"BODY=8BITMIME")
        mail = await self._command(
            smtp, "mail", smtp.execute_command(b"MAIL", f"FROM:<{sender}>".encode(), *options)
        )
        if mail.code != 250:
            raise Stop(Failure("mail", code=mail.code, text=mail.message))
        accepted: list[str] = []
        last: RecipientResult | None = None
        for rcpt in rcpts:
            reply = await self._command(
                smtp, "rcpt", smtp.execute_command(b"RCPT", f"TO:<{rcpt}>".encode())
            )
            last = RecipientResult(rcpt, reply.code, printable(reply.message))
            current.recipients.append(last)
            if reply.code in (250, 251):
                accepted.append(rcpt)
        self._timed("envelope", started)
        if not accepted:
            assert last is not None
            refused = max(current.recipients, key=lambda r: r.code)  # permanent over temporary
            await self._reset(smtp)
            raise Stop(
                Failure("rcpt", code=refused.code, text=refused.text, recipient=refused.address)
            )
        return accepted

    async def _reset(self, smtp: TracingSMTP) -> None:
        with contextlib.suppress(aiosmtplib.SMTPException):
            await smtp.execute_command(b"RSET")

    async def _check_envelope(
        self, smtp: TracingSMTP, current: MessageReport, rcpts: list[str]
    ) -> None:
        from tui.core.message import parse_mailbox

        sender = parse_mailbox(self.profile.from_, "from").ascii_addr_spec()
        await self._envelope(smtp, current, sender, rcpts or [sender], None, False)
        await self._reset(smtp)

    async def _send(
        self, smtp: TracingSMTP, prepared: Prepared, current: MessageReport, index: int
    ) -> None:
        if prepared.smtputf8 and not smtp.supports_extension("smtputf8"):
            reason = (
                f"{prepared.non_ascii_address()} has non-ASCII characters before the @ and the "
                "server does not support SMTPUTF8; use an ASCII address"
            )
            self.emit(Mark.ERROR, reason)
            raise Stop(Failure("mail", error="input", detail=reason))
        size = prepared.size
        current.size = size
        limit = smtp.esmtp_extensions.get("size", "")
        if limit.isdigit() and int(limit) and size > int(limit):
            # The server said only its SIZE: the failure carries no reply it never sent.
            reason = (
                f"the server accepts at most {int(limit):,} bytes (its SIZE); this message is "
                f"{size:,} bytes"
            )
            self.emit(Mark.ERROR, reason)
            raise Stop(Failure("size", error="too-large", detail=reason))
        await self._envelope(
            smtp, current, prepared.sender, prepared.recipients, size, prepared.smtputf8
        )
        await self._data(smtp, prepared, current, index)
        current.accepted = True
        if self.journal is not None:
            self.journal.accepted(index, current)

    async def _data(
        self, smtp: TracingSMTP, prepared: Prepared, current: MessageReport, index: int
    ) -> None:
        from tui.core.transcript import human_size

        started = time.perf_counter()
        reply = await self._command(smtp, "data", smtp.execute_command(b"DATA"))
        if reply.code != 354:
            raise Stop(Failure("data", code=reply.code, text=reply.message))
        protocol = smtp.protocol
        assert protocol is not None
        mark = Mark.CLIENT_TLS if smtp.in_tls else Mark.CLIENT
        total = prepared.size
        lines = prepared.lines
        if lines is None:
            lines = await asyncio.to_thread(
                lambda: sum(block.count(b"\n") for block in prepared.blocks())
            )
        self.emit(mark, f"[message: {human_size(total)}, {lines:,} lines]")
        self.state("sending", 0.0)
        # Read the final reply concurrently, so a server that answers early is heard.
        reader = asyncio.ensure_future(protocol.read_response(timeout=None))
        try:
            sent, last_reported = 0, -1
            for chunk in _dot_stuffed(prepared.blocks(CHUNK_SIZE)):
                if reader.done():
                    break
                protocol.write(chunk)
                await asyncio.wait_for(protocol._drain_helper(), self.profile.timeout)
                sent = min(total, sent + len(chunk))
                percent = int(sent * 100 / total) if total else 100
                if percent != last_reported:
                    last_reported = percent
                    self.state("sending", sent / total if total else 1.0)
            else:
                if self.journal is not None:
                    try:  # "end of data sent" is on disk before the dot leaves
                        await self.journal.end_of_data(index)
                    except OSError as exc:
                        reader.cancel()
                        reason = exc.strerror or str(exc)
                        self.emit(Mark.ERROR, f"stopped before the end of the message: {reason}")
                        raise Stop(Failure("data", error="local-io", detail=reason)) from None
                # Let a close that is already on its way be seen first: a message whose end
                # never left is "not sent", not "outcome unknown".
                await asyncio.sleep(0)
                if not reader.done():
                    protocol.write(b".\r\n")
                    current.end_sent = True
            final = await asyncio.wait_for(asyncio.shield(reader), self.profile.timeout)
        except (TimeoutError, aiosmtplib.SMTPException, ConnectionError) as exc:
            reader.cancel()
            if current.end_sent:
                self.emit(
                    Mark.ERROR, "no reply after the end of the message: the outcome is unknown"
                )
                raise Stop(Failure("data-end", error="unknown-outcome")) from None
            raise Stop(self._exchange_failure("data", exc)) from None
        self._timed("data", started)
        final = self.server_reply(final, smtp.in_tls)
        if not current.end_sent:
            # The server answered before the end of the message: it did not get it whole,
            # whatever it says, and the connection is out of step.
            smtp.close()
            if 200 <= final.code < 300:
                self.emit(Mark.ERROR, "the server said it accepted the message before its end")
                raise Stop(
                    Failure("data", error="early-reply", code=final.code, text=final.message)
                )
            raise Stop(Failure("data", error="early-refusal", code=final.code, text=final.message))
        if final.code != 250:
            raise Stop(Failure("data", code=final.code, text=final.message))
        self.state("sent", 1.0)

    async def _quit(self, smtp: TracingSMTP) -> None:
        try:
            await smtp.quit(timeout=min(5.0, self.profile.timeout))
        except (aiosmtplib.SMTPException, ConnectionError, TimeoutError):
            smtp.close()


def _dot_stuffed(blocks: Iterable[bytes]) -> Iterable[bytes]:
    """The message as it goes on the wire after DATA: leading dots doubled, ending in CRLF.

    The message was built with CRLF line endings; a block may end mid-line, so whether the
    next one starts a line is carried over.
    """
    at_line_start = True
    last = b"\n"
    for block in blocks:
        if not block:
            continue
        if at_line_start and block.startswith(b"."):
            block = b"." + block
        block = block.replace(b"\n.", b"\n..")
        at_line_start = block.endswith(b"\n")
        last = block[-1:]
        yield block
    if last != b"\n":
        yield b"\r\n"


def _default_helo() -> str:
    name = socket.gethostname()
    return name if name and name.isascii() and " " not in name else "localhost"


def format_timings(timings: dict[str, float]) -> str:
    return ", ".join(f"{name} {timings[name]:.1f} ms" for name in PHASES if name in timings)
