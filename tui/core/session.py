"""One SMTP session over aiosmtplib: connect, TLS, AUTH, the mail transactions, QUIT.

Every command and reply is reported live to a listener as a redacted `TranscriptEvent`,
so the CLI and the app are both just listeners. Security never falls back: a `starttls`
profile stops before AUTH or MAIL when TLS cannot be had, and credentials never travel
over a plain connection.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING

import aiosmtplib
from aiosmtplib.response import SMTPResponse

from tui.core.connecting import Connector
from tui.core.message import Prepared
from tui.core.profiles import Profile
from tui.core.reporter import Reporter
from tui.core.reports import Journal, MessageReport, SessionReport, Stop
from tui.core.results import PHASES, Failure
from tui.core.smtp_client import BearerReply, StartTlsInjection, TracingSMTP, UnexpectedReply
from tui.core.transaction import MailTransaction
from tui.core.transcript import Listener, Mark, printable

if TYPE_CHECKING:
    from tui.core.early import EarlyConnection

AUTH_PREFERENCE = ("PLAIN", "LOGIN", "CRAM-MD5")
BEARER_MECHANISMS = ("XOAUTH2", "OAUTHBEARER")
ESMTP_OFFERS = ("STARTTLS", "AUTH", "SIZE", "SMTPUTF8", "8BITMIME", "PIPELINING", "CHUNKING")
# How long QUIT's reply may take before the connection is closed without it: on loopback
# it comes at once and is shown; on a slow link it is not worth a round trip.
QUIT_GRACE = 0.03


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


class SmtpSession:
    """Runs one session for a profile and reports it; `run()` never raises for SMTP failures."""

    def __init__(
        self,
        profile: Profile,
        password: str | None,
        listener: Listener,
        journal: Journal | None = None,
        renew: Callable[[], Awaitable[str]] | None = None,
        early: EarlyConnection | None = None,
    ) -> None:
        self.profile = profile
        self.password = password
        self.journal = journal
        # A new access token after the server refused one (XOAUTH2, OAUTHBEARER).
        self.renew = renew if renew is not None else default_renewal(profile)
        self.reporter = Reporter(profile, password, listener)
        self.report = self.reporter.report
        self.connector = Connector(profile, self.reporter.emit, early)
        self._smtp: TracingSMTP | None = None
        # The TLS context, loaded in a thread while the connection is made (STARTTLS: while
        # the greeting and EHLO go back and forth, up to the STARTTLS that needs it).
        self._tls_ready: asyncio.Future[ssl.SSLContext] | None = None

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
                self.reporter.emit(
                    Mark.ERROR,
                    "cancelled after the end of the message had left: it may have been delivered",
                )
            else:
                self.reporter.emit(Mark.ERROR, "cancelled by the user")
            self.reporter.state("cancelled")
            self.report.failure = Failure("cancelled", error="cancelled")
            raise
        except Exception as exc:  # a fault of mailtui's own must not lose what is known
            self._close()
            self.reporter.emit(Mark.ERROR, f"internal error: {type(exc).__name__}: {exc}")
            self._in_doubt()
            self.report.failure = Failure("session", error="protocol", detail=str(exc))
        finally:
            self._forget_tls_context()
            self.reporter.scrub_report()
            self.report.timings["total"] = (time.perf_counter() - started) * 1000
            self.reporter.emit(Mark.INFO, "timings: " + format_timings(self.report.timings))
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

    async def _tls_context(self) -> ssl.SSLContext:
        """The context loading since the connection began; a ca_file that cannot be used
        stops the session as a configuration mistake."""
        from tui.core.tls import TlsConfigError

        assert self._tls_ready is not None
        try:
            return await self._tls_ready
        except TlsConfigError as exc:
            self.reporter.emit(Mark.ERROR, str(exc))
            raise Stop(Failure("config", error="config", detail=str(exc))) from None

    def _forget_tls_context(self) -> None:
        """A session that ends before its STARTTLS: the loading is not waited for, and a
        failure of it is not reported as never retrieved."""
        ready, self._tls_ready = self._tls_ready, None
        if ready is None:
            return
        if ready.done():
            if not ready.cancelled():
                ready.exception()
        else:
            ready.cancel()

    async def _part(self, failure: Failure) -> None:
        """After a refusal the server gets its QUIT (RFC 5321 4.1.1.10); after a broken,
        stalled or tampered connection there is nothing left to say on it."""
        # A ca_file found unusable at STARTTLS (its loading ran meanwhile) is a refusal of
        # our own: the server still gets its QUIT.
        polite = failure.error is None or failure.error in (
            "starttls-missing",
            "auth-method",
            "config",
        )
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
            self.reporter.emit(Mark.INFO, "plain connection: this profile does not use TLS")
        if profile.logs_in:
            await self._authenticate(smtp)

        transaction = MailTransaction(smtp, self.reporter, profile, self.journal)
        if check_rcpt is not None:
            await transaction.check(self.report.messages[0], check_rcpt)
        for index, prepared in enumerate(messages):
            current = self.report.messages[index]
            try:
                await transaction.send(prepared, current, index, reset_first=index > 0)
            except Stop as stop:
                current.failure = stop.failure
                if stop.failure.error in _BREAKING_ERRORS:
                    raise
        await self._quit(smtp)

    async def _connect(self) -> TracingSMTP:
        profile = self.profile
        source = f" from {profile.source_address}" if profile.source_address else ""
        self.reporter.state("connecting")
        self.reporter.emit(
            Mark.INFO,
            f"connecting to {profile.server} ({profile.security}){source}",
        )
        # Loading the trust store takes a while (tens of ms for the system's): do it while
        # the TCP handshake runs, and for STARTTLS while the greeting and EHLO do too.
        if profile.security != "none":
            from tui.core.tls import make_tls_context

            self._tls_ready = asyncio.ensure_future(asyncio.to_thread(make_tls_context, profile))
        started = time.perf_counter()
        try:
            sock = await self.connector.open()
        except BaseException:
            self._forget_tls_context()
            raise
        self.reporter.timed("connect", started)
        context = None
        if profile.security == "tls":
            try:
                context = await self._tls_context()
            except Stop:
                sock.close()
                raise
        smtp = TracingSMTP(
            self.reporter,
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
            self.reporter.timed("greeting", started)
            refusal = self.reporter.server_reply(SMTPResponse(exc.code, exc.message), smtp.in_tls)
            raise Stop(Failure("greeting", code=exc.code, text=refusal.message)) from None
        except aiosmtplib.SMTPTimeoutError:
            self.reporter.emit(
                Mark.ERROR, f"no greeting from the server within {profile.timeout:g} s"
            )
            smtp.close()
            if profile.security != "tls" and await self.connector.expects_tls():
                raise Stop(Failure("greeting", error="expects-tls")) from None
            raise Stop(Failure("greeting", error="timeout")) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            cause = exc.__cause__
            if isinstance(cause, ssl.SSLError):
                raise Stop(await self._tls_failure(cause)) from None
            if isinstance(exc, ssl.SSLError):
                raise Stop(await self._tls_failure(exc)) from None
            self.reporter.emit(
                Mark.ERROR, f"the server closed the connection before greeting: {exc}"
            )
            raise Stop(Failure("greeting", error="disconnected")) from None
        self.reporter.timed("greeting", started)
        greeting = self.reporter.server_reply(greeting, smtp.in_tls)
        self.report.greeting = greeting.message
        try:
            smtp.refuse_extra_replies()
        except UnexpectedReply as exc:
            raise Stop(Failure("greeting", error="protocol", detail=str(exc))) from None
        if smtp.in_tls:
            self._tls_established(smtp)
        return smtp

    async def _tls_failure(self, exc: BaseException) -> Failure:
        """Describe a failed handshake; for a bad certificate, fetch it to show its fingerprint."""

        from tui.core.tls import fetch_certificate, verify_error_kind

        kind = verify_error_kind(exc)
        reason = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or str(exc)
        self.reporter.emit(Mark.ERROR, f"TLS failed: {reason}")
        # Implicit TLS that read something other than TLS (not an alert from a TLS server):
        # a port that speaks plain SMTP first is a setting to change, not a TLS failure.
        implicit = self.profile.security == "tls" and self.connector.peer is not None
        alert = "ALERT" in str(reason).upper()
        if kind == "tls" and implicit and not alert and await self.connector.greets_in_plain():
            return Failure("tls", error="expects-plain", detail=str(reason))
        detail = ""
        if kind.startswith("cert"):
            info = await fetch_certificate(self.profile)
            if info is not None:
                self.report.certificate = info
                self.reporter.emit(Mark.INFO, f"server certificate: {info.summary()}")
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
        self.reporter.emit(Mark.INFO, f"TLS established: {info.summary()}")
        pin = self.profile.tls_fingerprint
        if pin is not None:
            if info.fingerprint != pin:
                self.reporter.emit(
                    Mark.ERROR, f"certificate fingerprint does not match the pin {pin}"
                )
                raise Stop(Failure("tls", error="pin-mismatch", detail=f"got {info.fingerprint}"))
            self.reporter.emit(Mark.INFO, "certificate matches the pinned fingerprint")

    async def _ehlo(self, smtp: TracingSMTP) -> None:
        started = time.perf_counter()
        try:
            response = await smtp.ehlo()
        except aiosmtplib.SMTPHeloError as exc:
            if exc.code in (500, 502) and smtp.is_connected and not self.profile.logs_in:
                helo = await self.reporter.command("ehlo", smtp.helo())
                if helo.code != 250:
                    raise Stop(Failure("ehlo", code=helo.code, text=helo.message)) from None
                self.reporter.timed("ehlo", started)
                return
            raise Stop(Failure("ehlo", code=exc.code, text=exc.message)) from None
        except aiosmtplib.SMTPException as exc:
            raise Stop(self.reporter.failure_of("ehlo", exc)) from None
        self.reporter.timed("ehlo", started)
        self.report.ehlo_text = response.message
        extensions = smtp.esmtp_extensions
        # Only what the server says inside TLS counts (RFC 3207); STARTTLS itself is
        # remembered from before, since the second EHLO no longer offers it.
        offered_tls = {"STARTTLS": ""} if "STARTTLS" in self.report.offers else {}
        self.report.offers = offered_tls | {
            name: printable(extensions[name.lower()])
            for name in ESMTP_OFFERS
            if name.lower() in extensions
        }

    async def _starttls(self, smtp: TracingSMTP) -> None:
        if not smtp.supports_extension("starttls"):
            self.reporter.emit(
                Mark.ERROR, "the server does not offer STARTTLS; stopping before AUTH or MAIL"
            )
            raise Stop(Failure("starttls", error="starttls-missing"))
        context = await self._tls_context()
        self.reporter.state("tls")
        started = time.perf_counter()
        try:
            response = await smtp.upgrade_to_tls(context, self.profile.host)
        except StartTlsInjection as exc:
            raise Stop(Failure("starttls", error="starttls-injection", detail=str(exc))) from None
        except ssl.SSLError as exc:
            raise Stop(await self._tls_failure(exc)) from None
        except (aiosmtplib.SMTPException, ConnectionError, TimeoutError) as exc:
            raise Stop(self.reporter.failure_of("starttls", exc)) from None
        if response.code != 220:
            raise Stop(Failure("starttls", code=response.code, text=response.message))
        self.reporter.timed("tls", started)
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
            self.reporter.emit(Mark.ERROR, f"the server offers {listed}, not {wanted}")
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
        self.reporter.state("authenticating")
        started = time.perf_counter()
        if method in BEARER_MECHANISMS:
            await self._authenticate_bearer(smtp, method)
            self.reporter.timed("auth", started)
            return
        calls = {
            "PLAIN": smtp.auth_plain,
            "LOGIN": smtp.auth_login,
            "CRAM-MD5": smtp.auth_crammd5,
        }
        # Exactly one AUTH: a wrong password must not be retried through other methods.
        await self.reporter.command("auth", calls[method](profile.username, self.password))
        self.reporter.timed("auth", started)

    async def _authenticate_bearer(self, smtp: TracingSMTP, method: str) -> None:
        """AUTH with the access token; when the server says the token itself is no good,
        exactly one new token and one more AUTH, never a loop."""
        profile = self.profile
        assert self.password is not None and profile.username is not None
        reply = await self._bearer_once(smtp, method, self.password)
        if reply.response.code == 235:
            return
        if reply.token_rejected and self.renew is not None:
            self.reporter.emit(Mark.INFO, "the server refused the access token; getting a new one")
            from tui.core.oauth.tokens import TokenError

            try:
                token = await self.renew()
            except TokenError as exc:
                self.reporter.emit(Mark.ERROR, str(exc))
                raise Stop(Failure("auth", error=exc.error, detail=f"{exc}.")) from None
            self.reporter.add_secret(token)
            self.password = token
            reply = await self._bearer_once(smtp, method, token)
            if reply.response.code == 235:
                return
        response = reply.response
        if reply.token_rejected:
            raise Stop(
                Failure("auth", code=response.code, text=response.message, error="token-rejected")
            )
        raise Stop(Failure("auth", code=response.code, text=response.message))

    async def _bearer_once(self, smtp: TracingSMTP, method: str, token: str) -> BearerReply:
        assert self.profile.username is not None
        try:
            return await smtp.auth_bearer(method, self.profile.username, token)
        except aiosmtplib.SMTPException as exc:
            raise Stop(self.reporter.failure_of("auth", exc)) from None

    async def _quit(self, smtp: TracingSMTP) -> None:
        """QUIT without waiting a round trip for its reply: the outcome is already known."""
        if not await smtp.quit_briefly(min(QUIT_GRACE, self.profile.timeout)):
            self.reporter.emit(Mark.INFO, "closed without waiting for the reply to QUIT")


def default_renewal(profile: Profile) -> Callable[[], Awaitable[str]] | None:
    """How a session of `profile` gets a new access token: its token_command run again, or a
    refresh with the kept refresh token (in a thread: it is a trip to the provider)."""
    if not profile.uses_token or not (profile.token_command or profile.oauth):
        return None

    async def renew() -> str:
        from tui.core.oauth.tokens import renew_access_token

        return await asyncio.to_thread(renew_access_token, profile)

    return renew


def _default_helo() -> str:
    name = socket.gethostname()
    return name if name and name.isascii() and " " not in name else "localhost"


def format_timings(timings: dict[str, float]) -> str:
    return ", ".join(f"{name} {timings[name]:.1f} ms" for name in PHASES if name in timings)
