"""What a send or a check came to: exit codes, per-recipient results and timings."""

from collections.abc import Mapping, Sequence
from enum import IntEnum, StrEnum
from typing import NamedTuple


class ExitCode(IntEnum):
    """sysexits codes, as sendmail and msmtp use them."""

    OK = 0
    USAGE = 64
    DATAERR = 65  # bad message input: an invalid address, CR/LF in a header
    UNAVAILABLE = 69  # refused by the server: relay denied, recipient refused
    TEMPFAIL = 75  # temporary failure: the message is kept in the outbox
    NOPERM = 77  # authentication failed
    CONFIG = 78  # bad profile or configuration
    IOERR = 74  # TLS or I/O failure
    INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT, as shells report it


class Outcome(StrEnum):
    SENT = "sent"
    PARTIAL = "partial"  # some recipients refused, the others accepted
    REFUSED = "refused"
    TEMPORARY = "temporary"
    UNKNOWN = "unknown"  # the connection broke after the end of DATA: maybe delivered
    AUTH_FAILED = "auth-failed"
    TLS_FAILED = "tls-failed"
    FAILED = "failed"  # the server misbehaved (an unreadable reply), or mailtui's own disk
    CONFIG = "config"
    INPUT = "input"
    CANCELLED = "cancelled"  # stopped before the end of the message left: not sent
    NOT_TRIED = "not-tried"  # a flush's connection ended before this message's turn
    WOULD_WORK = "would-work"  # a check that found nothing wrong


# The phases of a session, in order, as the transcript and the phase bar show them.
PHASES = ("connect", "greeting", "ehlo", "tls", "auth", "envelope", "data", "total")

# Outcomes after which a message stays in the outbox for a later try.
KEPT = frozenset({Outcome.TEMPORARY, Outcome.UNKNOWN, Outcome.NOT_TRIED})


# Records are NamedTuples rather than frozen dataclasses throughout the core: as immutable,
# and several times cheaper to define, which every `mailtui send` pays at start. Modules that
# define them do without `from __future__ import annotations`: as strings, each field's
# annotation would be compiled again by typing.NamedTuple.


class Failure(NamedTuple):
    """What went wrong, as observed: the session stage, the reply, or a local error kind."""

    stage: str  # connect, greeting, ehlo, starttls, tls, auth, mail, rcpt, data, data-end, config
    code: int | None = None
    text: str = ""
    error: str | None = None  # refused, timeout, unreachable, disconnected, cert-*, pin-mismatch…
    recipient: str | None = None
    detail: str = ""


class Diagnosis(NamedTuple):
    """Why an attempt failed, in one plain sentence with the next step."""

    kind: str
    exit_code: ExitCode
    explanation: str
    retry_profile: str | None = None
    code: int | None = None
    server_text: str = ""


def given_back(result: "AttemptResult") -> bool:
    """Whether the outbox gave the message back after a send: the person (the form, or
    `drafts/` from the command line) keeps it. Not after a success, nor while the outbox
    keeps it (a temporary failure, an unknown outcome, recipients who refused for now)."""
    if result.outcome is Outcome.CANCELLED:
        return True
    return result.exit_code not in (ExitCode.OK, ExitCode.TEMPFAIL)


# A summary names at most this many recipients; beyond, it counts the others.
NAMED_RECIPIENTS = 3


def in_brief(addresses: Sequence[str], limit: int = NAMED_RECIPIENTS) -> str:
    """Recipients for a one-line summary: "a, b, c" or "a, b, c and 297 more", so that a
    message to 300 people does not fill the screen."""
    if len(addresses) <= limit:
        return ", ".join(addresses)
    return f"{', '.join(addresses[:limit])} and {len(addresses) - limit} more"


class RecipientResult(NamedTuple):
    address: str
    code: int
    text: str

    @property
    def accepted(self) -> bool:
        return 200 <= self.code < 300


class AttemptResult(NamedTuple):
    """The outcome of one send or check: what happened, to whom, how long each phase took."""

    outcome: Outcome
    exit_code: ExitCode
    summary: str
    diagnosis: Diagnosis | None = None
    recipients: tuple[RecipientResult, ...] = ()
    timings: Mapping[str, float] = {}  # shared, so read-only (Mapping)
    message_id: str | None = None
    attempt_id: str | None = None
    offers: Mapping[str, str] = {}  # shared, so read-only (Mapping)
    client_address: str | None = None
    size: int | None = None
    tls: str | None = None  # protocol, cipher and certificate, when TLS was used
    # What could not be written after the fact (transcript, record, sent/ copy): said, but
    # never a reason to change the outcome.
    warnings: tuple[str, ...] = ()
    # What became of the copy in the IMAP Sent folder, in one sentence (None: none was due).
    sent_copy: str | None = None

    @property
    def accepted(self) -> tuple[str, ...]:
        return tuple(r.address for r in self.recipients if r.accepted)

    @property
    def refused(self) -> tuple[RecipientResult, ...]:
        return tuple(r for r in self.recipients if not r.accepted)
