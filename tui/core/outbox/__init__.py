"""The outbox: messages waiting to go out, kept as a Maildir so none is ever lost or sent twice.

This package owns the answer to "does this message count as sent, and may it be resent?".
A queued message is in one small state machine; each transition is written to its record
(`.mailtui/<id>.json`, beside the Maildir folders, which Maildir readers ignore) *before*
the act it records:

    queued ──claim──▶ sending ──(written, then the final dot)──▶ data-sent ──250──▶ sent/
      ▲                  │                                          │
      └── temporary ─────┘                                          └─ no reply, crash ─▶ unknown
    refused: the server refused it for good        held: the profile needs fixing (login…)

A claim is an exclusive `fcntl.flock` on the entry's lock file, held as long as the process
sends it: two processes never send one entry, and a claim dies with its process. So after a
`kill -9` an entry still marked "sending" is *interrupted* (its end of data never left: safe
to send again), and one marked "data-sent" has an *unknown* outcome (maybe delivered: never
resent without the person).
"""

from tui.core.maildir import sweep_tmp
from tui.core.outbox.states import (
    DATA_SENT,
    HELD,
    INTERRUPTED,
    NO_RECORD,
    QUEUED,
    REFUSED,
    SENDING,
    UNKNOWN,
    OutboxBusy,
    OutboxEntry,
    OutboxUnreadable,
    Settled,
    backoff,
)
from tui.core.outbox.store import Claim, Outbox

__all__ = [
    "DATA_SENT",
    "HELD",
    "INTERRUPTED",
    "NO_RECORD",
    "QUEUED",
    "REFUSED",
    "SENDING",
    "UNKNOWN",
    "Claim",
    "Outbox",
    "OutboxBusy",
    "OutboxEntry",
    "OutboxUnreadable",
    "Settled",
    "backoff",
    "sweep_tmp",
]
