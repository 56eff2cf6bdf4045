"""The outbox's state machine, driven by hypothesis: random interleavings of filing, claims,
the end of data, outcomes, crashes and the person's decisions never lose a message, never
let two claims hold one entry, and never deliver a message twice unless the person chose
to resend one whose outcome was unknown."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import Counter
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    precondition,
    rule,
)

from tui.core import maildir
from tui.core.message import Prepared
from tui.core.outbox import Claim, Outbox, OutboxBusy
from tui.core.results import AttemptResult, ExitCode, Outcome, RecipientResult

# What each outcome does to a message claimed by a flush (unattended) or a fresh send.
AFTER_FLUSH = {
    Outcome.TEMPORARY: "queued",
    Outcome.NOT_TRIED: "queued",
    Outcome.CANCELLED: "queued",
    Outcome.UNKNOWN: "unknown",
    Outcome.REFUSED: "refused",
    Outcome.AUTH_FAILED: "held",
}
AFTER_SEND = {Outcome.TEMPORARY: "queued", Outcome.UNKNOWN: "unknown"}  # else given back
BEFORE_DOT = [Outcome.TEMPORARY, Outcome.REFUSED, Outcome.AUTH_FAILED, Outcome.NOT_TRIED,
              Outcome.CANCELLED]  # fmt: skip
AFTER_DOT = [Outcome.SENT, Outcome.UNKNOWN, Outcome.REFUSED, Outcome.TEMPORARY]


def _result(outcome: Outcome) -> AttemptResult:
    code = ExitCode.OK if outcome is Outcome.SENT else ExitCode.TEMPFAIL
    rcpt = RecipientResult("bob@example.org", 250, "ok")
    return AttemptResult(outcome, code, f"outcome {outcome.value}", recipients=(rcpt,))


class OutboxMachine(RuleBasedStateMachine):
    messages = Bundle("messages")

    def __init__(self) -> None:
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="mailtui-states-"))
        self.previous_home = os.environ.get("MAILTUI_HOME")
        os.environ["MAILTUI_HOME"] = str(self.root)
        self.box = Outbox()
        self.state: dict[str, str] = {}  # id -> queued, sending, data-sent, interrupted, …
        self.claims: dict[str, tuple[Claim, bool]] = {}  # id -> (claim, fresh)
        self.deliveries: Counter[str] = Counter()
        self.resent_on_purpose: set[str] = set()
        self.sent_settles = 0
        self.counter = 0
        self.order: list[str] = []  # ids in filing order (names do not sort by time)

    def teardown(self) -> None:
        for claim, _fresh in self.claims.values():
            claim.release()
        if self.previous_home is None:
            os.environ.pop("MAILTUI_HOME", None)
        else:
            os.environ["MAILTUI_HOME"] = self.previous_home
        shutil.rmtree(self.root, ignore_errors=True)

    # -- filing and claiming -------------------------------------------------------------------

    @rule(target=messages)
    def file_a_message(self) -> str:
        self.counter += 1
        prepared = Prepared(
            sender="jane@isp.example",
            recipients=("bob@example.org",),
            data=f"Subject: n{self.counter}\r\n\r\nHello\r\n".encode(),
            smtputf8=False,
            message_id=f"<n{self.counter}@example.org>",
            subject=f"n{self.counter}",
        )
        claim = self.box.add(prepared, "isp", sync=False)
        self.claims[claim.entry.id] = (claim, True)
        self.state[claim.entry.id] = "sending"
        self.order.append(claim.entry.id)
        return claim.entry.id

    @rule(entry_id=messages)
    def a_flush_claims(self, entry_id: str) -> None:
        claim = self.box.claim(entry_id, patience=0.0)
        free = entry_id not in self.claims
        if self.state.get(entry_id) in ("queued", "interrupted") and free:
            assert claim is not None, f"{entry_id} ({self.state[entry_id]}) could not be claimed"
            self.claims[entry_id] = (claim, False)
            self.state[entry_id] = "sending"
        else:
            assert claim is None, f"{entry_id} ({self.state.get(entry_id)}) claimed twice"
        if self.state.get(entry_id) == "unknown-crashed":
            self.state[entry_id] = "unknown"  # the claim attempt wrote the recovery down

    # -- the session ---------------------------------------------------------------------------

    @precondition(lambda self: any(s == "sending" for s in self.state.values()))
    @rule(data=st.data())
    def the_end_of_data_leaves(self, data: st.DataObject) -> None:
        entry_id = data.draw(st.sampled_from(self._in("sending")))
        claim, _fresh = self.claims[entry_id]
        self.box.end_of_data(claim)
        self.state[entry_id] = "data-sent"

    @precondition(lambda self: bool(self.claims))
    @rule(data=st.data())
    def the_attempt_ends(self, data: st.DataObject) -> None:
        entry_id = data.draw(st.sampled_from(self._claimed()))
        claim, fresh = self.claims.pop(entry_id)
        after_dot = self.state[entry_id] == "data-sent"
        outcome = data.draw(st.sampled_from(AFTER_DOT if after_dot else BEFORE_DOT))
        self.box.settle(claim, _result(outcome), fresh=fresh)
        assert not claim.held
        if outcome is Outcome.SENT:
            self.deliveries[entry_id] += 1
            self.sent_settles += 1
            self.state[entry_id] = "sent"
        elif outcome is Outcome.UNKNOWN:
            self.deliveries[entry_id] += 1  # maybe: count it as the worst case
            self.state[entry_id] = "unknown"
        else:
            table = AFTER_SEND if fresh else AFTER_FLUSH
            self.state[entry_id] = table.get(outcome, "given-back")

    @precondition(lambda self: bool(self.claims))
    @rule(data=st.data())
    def the_process_dies(self, data: st.DataObject) -> None:
        entry_id = data.draw(st.sampled_from(self._claimed()))
        claim, _fresh = self.claims.pop(entry_id)
        claim.release()  # what the kernel does to a flock at kill -9
        if self.state[entry_id] == "data-sent":
            self.deliveries[entry_id] += 1  # it may have arrived
            self.state[entry_id] = "unknown-crashed"
        else:
            self.state[entry_id] = "interrupted"

    # -- the person ----------------------------------------------------------------------------

    @rule(entry_id=messages)
    def the_person_sends_it_again(self, entry_id: str) -> None:
        state = self.state.get(entry_id)
        try:
            self.box.release(entry_id)
        except OutboxBusy:
            assert entry_id in self.claims
            return
        except KeyError:
            assert state in ("sent", "given-back", "deleted")
            return
        assert entry_id not in self.claims
        if state in ("unknown", "unknown-crashed"):
            self.resent_on_purpose.add(entry_id)
        self.state[entry_id] = "queued"

    @rule(entry_id=consumes(messages))
    def the_person_deletes_it(self, entry_id: str) -> None:
        try:
            self.box.remove(entry_id)
        except OutboxBusy:
            assert entry_id in self.claims
            return
        assert entry_id not in self.claims
        if self.state.get(entry_id) not in ("sent", "given-back"):
            self.state[entry_id] = "deleted"

    # -- what must always hold -----------------------------------------------------------------

    def _in(self, *states: str) -> list[str]:
        return [i for i in self.order if self.state[i] in states]

    def _claimed(self) -> list[str]:
        return [i for i in self.order if i in self.claims]

    @invariant()
    def every_message_is_where_its_state_says(self) -> None:
        listed = {e.id: e for e in self.box.entries()}
        for entry_id, state in self.state.items():
            if state in ("sent", "given-back", "deleted"):
                assert entry_id not in listed, f"{entry_id} is {state} but still in the outbox"
                continue
            assert entry_id in listed, f"{entry_id} ({state}) was lost"
            label = listed[entry_id].state_label
            expected = {"data-sent": "sending", "unknown-crashed": "unknown"}.get(state, state)
            assert label == expected, f"{entry_id}: outbox says {label}, expected {expected}"
            assert listed[entry_id].waiting == (state in ("queued", "interrupted"))

    @invariant()
    def nothing_is_delivered_twice_behind_the_persons_back(self) -> None:
        for entry_id, count in self.deliveries.items():
            assert count <= 1 or entry_id in self.resent_on_purpose, entry_id

    @invariant()
    def every_sent_message_has_one_copy_in_sent(self) -> None:
        copies = list(maildir.messages(self.root / "sent"))
        assert len(copies) == self.sent_settles


OutboxMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
test_outbox_state_machine = OutboxMachine.TestCase
