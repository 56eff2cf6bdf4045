"""What a session tells its listener, and what it keeps in its report, scrubbed of every form
of the password: each command and reply, each state, the timings, and the failures of an
exchange explained in words."""

from __future__ import annotations

import time
from typing import Any

import aiosmtplib
from aiosmtplib.response import SMTPResponse

from tui.core.profiles import Profile
from tui.core.redaction import scrub, secret_forms
from tui.core.reports import SessionReport, Stop
from tui.core.results import Failure
from tui.core.transcript import Listener, Mark, StateChange, make_event


class Reporter:
    """Reports one session of `profile` to `listener` and keeps its `report`; no text reaches
    either without being scrubbed of the password."""

    def __init__(self, profile: Profile, password: str | None, listener: Listener) -> None:
        self.profile = profile
        self.listener = listener
        self.secrets = secret_forms(profile.username, password)
        self.report = SessionReport()

    def add_secret(self, password: str) -> None:
        """Scrub a second secret too (a renewed access token) from here on."""
        self.secrets = sorted(
            {*self.secrets, *secret_forms(self.profile.username, password)}, key=len, reverse=True
        )

    def scrub(self, text: str) -> str:
        return scrub(text, self.secrets)

    def scrub_report(self) -> None:
        """Scrub what the report keeps of the server's words (failures come from replies and
        from aiosmtplib's errors quoting them), once, whatever way the session ended."""
        report = self.report
        if report.failure is not None:
            report.failure = self._scrub_failure(report.failure)
        for message in report.messages:
            if message.failure is not None:
                message.failure = self._scrub_failure(message.failure)
            message.recipients = [r._replace(text=self.scrub(r.text)) for r in message.recipients]

    def _scrub_failure(self, failure: Failure) -> Failure:
        return failure._replace(text=self.scrub(failure.text), detail=self.scrub(failure.detail))

    def emit(self, mark: Mark, text: str) -> None:
        self.listener(make_event(mark, self.scrub(text)))

    def state(self, name: str, progress: float | None = None) -> None:
        self.listener(StateChange(name, progress))

    def client_line(self, text: str, in_tls: bool) -> None:
        self.emit(Mark.CLIENT_TLS if in_tls else Mark.CLIENT, text)

    def server_reply(self, response: SMTPResponse, in_tls: bool) -> SMTPResponse:
        """Report a reply, scrubbed as a whole (a secret may be split over its lines), and
        return it scrubbed: nothing of the server's words goes further unscrubbed."""
        mark = Mark.SERVER_TLS if in_tls else Mark.SERVER
        message = self.scrub(response.message)
        lines = message.split("\n") if message else [""]
        for index, line in enumerate(lines):
            sep = "-" if index < len(lines) - 1 else " "
            self.emit(mark, f"{response.code}{sep}{line}".rstrip())
        return SMTPResponse(response.code, message)

    def timed(self, phase: str, started: float) -> None:
        self.report.timings[phase] = (
            self.report.timings.get(phase, 0.0) + (time.perf_counter() - started) * 1000
        )

    def unexpected_data(self, data: str) -> None:
        """Data no command asked for, scrubbed whole before it is cut short or repr() hides
        its line breaks."""
        self.emit(Mark.ERROR, f"unexpected data from the server: {self.scrub(data)[:200]!r}")

    async def command(self, stage: str, call: Any) -> SMTPResponse:
        """The reply to `call`; a refusal or a failed exchange ends the session (Stop)."""
        try:
            response: SMTPResponse = await call
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code < 100:  # aiosmtplib's code for a reply it could not read
                raise Stop(self.failure_of(stage, exc)) from None
            raise Stop(Failure(stage, code=exc.code, text=exc.message)) from None
        except aiosmtplib.SMTPException as exc:
            raise Stop(self.failure_of(stage, exc)) from None
        return response

    def failure_of(self, stage: str, exc: BaseException) -> Failure:
        """An exchange that broke (timeout, closed connection, unreadable reply), told and
        recorded as the failure of `stage`."""
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
