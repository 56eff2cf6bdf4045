"""What an SMTP session saw, message by message, and who must know it durably (the outbox).

`Stop` is how a step of the session ends it early with the failure it observed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from tui.core.results import Failure, RecipientResult

if TYPE_CHECKING:  # tls is imported only by sessions that use TLS
    from tui.core.tls import CertificateInfo


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
