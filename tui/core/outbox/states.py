"""The states of a queued message and what each outcome does to it: data a reader can
check against the README's table without reading the machinery (store.py)."""

import time
from typing import NamedTuple

from tui.core.results import Outcome

QUEUED = "queued"  # waiting for a retry (or for its first try)
SENDING = "sending"  # claimed by a process that is sending it (or died before its end of data)
DATA_SENT = "data-sent"  # the end of data is leaving or has left: maybe delivered
UNKNOWN = "unknown"  # data-sent, and the reply never came: never resent automatically
REFUSED = "refused"  # the server refused it for good: waits for the person
HELD = "held"  # the profile failed (login, TLS, configuration): waits for the person
INTERRUPTED = "interrupted"  # shown, never stored: "sending" by a process that is gone
NO_RECORD = "no record"  # shown, never stored: a message whose record is missing or damaged

BACKOFF_START = 60.0
BACKOFF_MAX = 3600.0

# Where a message goes after an attempt, by outcome. `fresh` is a send from the form or the
# command line: the person is still there to take the message back; a flush runs unattended,
# so the message stays here, marked, with the explanation.
_AFTER_FLUSH = {
    Outcome.TEMPORARY: QUEUED,
    Outcome.NOT_TRIED: QUEUED,
    Outcome.CANCELLED: QUEUED,
    Outcome.UNKNOWN: UNKNOWN,
    Outcome.REFUSED: REFUSED,
    Outcome.INPUT: REFUSED,
    Outcome.AUTH_FAILED: HELD,  # never retried by itself: a lockout waits behind repeated logins
    Outcome.TLS_FAILED: HELD,
    Outcome.FAILED: HELD,
    Outcome.CONFIG: HELD,
}
_AFTER_SEND = {Outcome.TEMPORARY: QUEUED, Outcome.UNKNOWN: UNKNOWN}  # else: back with the person
# A message handed over by a program that keeps it after a failure (`sendmail` without
# --queue): only an outcome nobody can take back stays.
_AFTER_HANDOVER = {Outcome.UNKNOWN: UNKNOWN}
_COUNTS_AS_TRY = {Outcome.TEMPORARY, Outcome.UNKNOWN, Outcome.REFUSED, Outcome.AUTH_FAILED}


class OutboxBusy(Exception):
    """Another process (or another task of this one) is sending the entry right now."""


class OutboxUnreadable(Exception):
    """The entry's record is missing or damaged: it can be edited or deleted, not resent."""


class OutboxEntry(NamedTuple):
    id: str
    profile_id: str
    sender: str
    recipients: tuple[str, ...]
    smtputf8: bool
    message_id: str
    subject: str
    state: str
    attempts: int = 0
    last_error: str = ""
    queued_at: str = ""
    next_try: float = 0.0
    pid: int | None = None
    last_attempt_id: str | None = None
    delivered_to: tuple[str, ...] = ()  # recipients who already have it (a partial send)
    eight_bit: bool = False  # its body needs 8BITMIME (a message handed to `sendmail`)
    dsn: tuple[str, str, str] | None = None  # (NOTIFY, RET, ENVID) asked for, see message.Dsn
    busy: bool = False  # read from the lock, never stored: a live process holds the claim

    @property
    def effective_state(self) -> str:
        """The state as it stands now: a claim whose process died is resolved here."""
        if self.state == SENDING and not self.busy:
            return INTERRUPTED
        if self.state == DATA_SENT:
            return SENDING if self.busy else UNKNOWN
        return self.state

    @property
    def interrupted(self) -> bool:
        """Marked as sending by a process that is gone, before its end of data left."""
        return self.effective_state == INTERRUPTED

    @property
    def waiting(self) -> bool:
        """Will be sent by the next retry or flush (never an unknown outcome)."""
        return self.effective_state in (QUEUED, INTERRUPTED)

    @property
    def needs_person(self) -> bool:
        """Waits for the person's decision: unknown, refused or held."""
        return self.effective_state in (UNKNOWN, REFUSED, HELD, NO_RECORD)

    def due(self, now: float | None = None) -> bool:
        return self.waiting and self.next_try <= (time.time() if now is None else now)

    @property
    def state_label(self) -> str:
        return {UNKNOWN: "unknown", HELD: "held"}.get(self.effective_state, self.effective_state)


def backoff(attempts: int) -> float:
    """Seconds to wait after `attempts` failed tries: 1, 2, 4… minutes, at most an hour."""
    return float(min(BACKOFF_MAX, BACKOFF_START * 2 ** max(0, attempts - 1)))


class Settled(NamedTuple):
    """Where a message went, and anything that could not be written on the way."""

    state: str | None  # the new state, or None when it left the outbox (sent, or given back)
    warnings: tuple[str, ...] = ()


def _unreadable(entry_id: str) -> OutboxEntry:
    """An entry whose record is missing or damaged: shown, never sent by itself."""
    return OutboxEntry(
        entry_id,
        "?",
        "",
        (),
        False,
        "",
        "(no record)",
        NO_RECORD,
        last_error="its record is missing or damaged; edit it in the app (F8, e) or delete it",
    )


def _died_after_dot() -> str:
    return (
        "mailtui stopped after the end of the message had left and before the server's reply, "
        "so it may or may not have been delivered; check with the recipient, then retry or "
        "delete it"
    )
