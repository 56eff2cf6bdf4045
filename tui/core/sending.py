"""Send a draft, flush the outbox, or check a profile: one `Attempt` with one profile.

Every message is kept in the outbox before anything is said to a server, and claimed there
by the attempt; the outbox (tui/core/outbox.py) decides where it goes after the session: sent
(with a copy in `sent/`), still in the outbox (temporary failure, outcome unknown, or
marked for the person after an unattended flush), or given back to the caller, who keeps
it (the app in its form, the command line in `drafts/`). The transcript goes to every
listener and to disk, the outcome is remembered against the network, and the result carries
an exit code and a plain-language explanation.
"""

import asyncio
import contextlib
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import IO, TYPE_CHECKING, Any, NamedTuple

from tui.core.diagnosis import Context, early_failure, judge
from tui.core.history import AttemptRecorder, result_record
from tui.core.message import Draft, MessageInputError, Prepared, compose
from tui.core.network import (
    DEFAULT_PROBE_PORTS,
    Locator,
    NetworkIdentity,
    describe_probe,
    probe_ports,
    reported_client_address,
)
from tui.core.network_history import NetworkHistory
from tui.core.outbox import HELD, QUEUED, REFUSED, UNKNOWN, Claim, Outbox, OutboxEntry, Settled
from tui.core.profiles import Profile
from tui.core.reports import MessageReport, SessionReport
from tui.core.results import KEPT, AttemptResult, ExitCode, Failure, Outcome
from tui.core.secrets import Prompt, SecretError, resolve_password
from tui.core.session import SmtpSession
from tui.core.transcript import Listener, Mark, SessionEvent, make_event

if TYPE_CHECKING:  # the Sent copy's modules load only for a profile with [imap] (start-up)
    from tui.core.early import EarlyConnection
    from tui.core.sent_copy import CopyResult

# The worst outcome decides a flush's exit code: what the person must act on comes first.
SEVERITY = (
    ExitCode.CONFIG,
    ExitCode.NOPERM,
    ExitCode.IOERR,
    ExitCode.UNAVAILABLE,
    ExitCode.DATAERR,
    ExitCode.TEMPFAIL,
    ExitCode.OK,
)
INTERRUPTED = AttemptResult(
    Outcome.CANCELLED, ExitCode.INTERRUPTED, "Interrupted; the message was not sent."
)


class Mode(StrEnum):
    SEND = "send"  # a message from the person, who takes it back if it cannot go for good
    FLUSH = "flush"  # queued messages, unattended: they stay in the outbox unless sent
    CHECK = "check"  # everything but DATA


def fan_out(*listeners: Listener | None) -> Listener:
    active = [listener for listener in listeners if listener is not None]

    def listen(event: SessionEvent) -> None:
        for listener in active:
            listener(event)

    return listen


class FlushResult(NamedTuple):
    """One flush: the session as a whole, and what happened to each queued message."""

    session: AttemptResult
    messages: tuple[tuple[OutboxEntry, AttemptResult], ...]
    skipped: tuple[str, ...] = ()  # entries that could not be claimed (a full disk)

    @property
    def sent(self) -> int:
        return sum(1 for _entry, result in self.messages if result.exit_code == ExitCode.OK)

    @property
    def still_queued(self) -> int:
        return sum(1 for _entry, result in self.messages if result.outcome in KEPT)

    @property
    def exit_code(self) -> ExitCode:
        """The worst outcome among the messages (sysexits), or the session's."""
        codes = {result.exit_code for _entry, result in self.messages} or {self.session.exit_code}
        if self.skipped:
            codes.add(ExitCode.IOERR)
        return next((code for code in SEVERITY if code in codes), self.session.exit_code)


class Attempt:
    """One attempt with one profile, in one mode. `settled` holds each message's outcome as
    soon as the outbox has it, so a caller interrupted mid-attempt still knows what went."""

    def __init__(
        self,
        profile: Profile,
        mode: Mode,
        *,
        profiles: Sequence[Profile] = (),
        listener: Listener | None = None,
        password: str | None = None,
        prompt: Prompt | None = None,
        locator: Locator | None = None,
        history: NetworkHistory | None = None,
        probe: Sequence[int] = DEFAULT_PROBE_PORTS,
        outbox: Outbox | None = None,
        origin: str | None = None,
        keep: bool = True,
        early_connection: "EarlyConnection | None" = None,
    ) -> None:
        self.profile = profile
        self.mode = mode
        # Begun while mailtui started (`mailtui send`): the session's first connection.
        self.early_connection = early_connection
        self.profiles = profiles
        self.listener = listener
        self.password = password
        self.prompt = prompt
        self.locator = locator
        self.history = history
        self.probe = probe
        self._outbox = outbox
        self.origin = origin  # what history calls it instead of the mode: "sendmail"
        self.keep = keep  # False: a temporary failure goes back to the caller (sendmail)
        self.settled: list[tuple[OutboxEntry | None, AttemptResult]] = []

    @property
    def outbox(self) -> Outbox:
        if self._outbox is None:
            self._outbox = Outbox()
        return self._outbox

    # -- the three modes -----------------------------------------------------------------------

    async def send(self, draft: Draft, message_id: str | None = None) -> AttemptResult:
        """Send `draft`; never raises for input, configuration or SMTP failures. A message
        that cannot go for good is given back: the result says so, the caller keeps it."""
        profile = self.profile
        try:
            composed = compose(profile.from_, draft, message_id=message_id)
        except MessageInputError as exc:
            return AttemptResult(Outcome.INPUT, ExitCode.DATAERR, f"Not sent: {exc.reason}.")
        try:
            secret, problem = await self._before_connecting()
        except KeyboardInterrupt:  # Ctrl-C at the password prompt
            return INTERRUPTED
        if problem is not None:
            return problem
        box = self.outbox
        # Building and filing a large message must not hold up the event loop (the app keeps
        # drawing); a small one is cheaper done at once than handed to a thread.
        small = not composed.attachments and len(composed.body) < 256 * 1024
        try:
            if small:
                claim, prepared = box.add_composed(composed, profile.id)
            else:
                claim, prepared = await _in_thread(
                    box, lambda: box.add_composed(composed, profile.id)
                )
        except MessageInputError as exc:  # an attachment that failed to read (wire.py)
            return AttemptResult(Outcome.INPUT, ExitCode.DATAERR, f"Not sent: {exc.reason}.")
        except OSError as exc:
            return _not_kept(box, exc)
        bcc = {0: tuple(str(mailbox) for mailbox in composed.bcc)}
        results = await self._session(secret, [(claim, prepared)], None, bcc)
        return results[0][1]

    async def submit(self, prepared: Prepared) -> AttemptResult:
        """Send a message that is ready for the wire as its caller wrote it (`sendmail`):
        kept in the outbox first, like every message, and settled there as `send` does."""
        try:
            secret, problem = await self._before_connecting()
        except KeyboardInterrupt:  # Ctrl-C at the password prompt
            return INTERRUPTED
        if problem is not None:
            return problem
        box = self.outbox
        try:
            claim, _same = await _in_thread(
                box, lambda: (box.add(prepared, self.profile.id), prepared)
            )
        except OSError as exc:
            return _not_kept(box, exc)
        results = await self._session(secret, [(claim, prepared)], None)
        return results[0][1]

    async def flush(self, entries: Sequence[OutboxEntry] | None = None) -> FlushResult:
        """Send queued messages of this profile over one connection, RSET between them. Only
        entries this attempt claims are sent: one another process is sending is skipped."""
        box = self.outbox
        candidates = (
            entries
            if entries is not None
            else [e for e in box.entries() if e.profile_id == self.profile.id]
        )
        claims: list[Claim] = []
        skipped: list[str] = []
        for entry in candidates:
            try:
                claim = box.claim(entry.id)
            except OSError as exc:  # a full disk: this one waits, the others may still go
                skipped.append(
                    f"{entry.id} was not sent: its outbox record could not be written "
                    f"({exc.strerror}); free some space and flush again"
                )
                continue
            if claim is not None:
                claims.append(claim)
        nothing = AttemptResult(Outcome.SENT, ExitCode.OK, "Nothing to send.")
        if not claims:
            return FlushResult(nothing, (), tuple(skipped))
        try:
            secret, problem = await self._before_connecting()
        except BaseException:
            for claim in claims:
                claim.release()
            raise
        if problem is not None:  # nothing reached a server: the entries stay as they were
            for claim in claims:
                box.settle(claim, problem._replace(outcome=Outcome.NOT_TRIED), fresh=False)
            return FlushResult(problem, tuple((c.entry, problem) for c in claims))
        jobs: list[tuple[Claim, Prepared]] = []
        for claim in claims:
            try:
                jobs.append((claim, box.prepared(claim.entry)))
            except OSError:  # deleted by hand meanwhile
                claim.release()
        if not jobs:
            return FlushResult(nothing, ())
        results = await self._session(secret, jobs, None)
        sent = sum(1 for _e, r in results if r.exit_code == ExitCode.OK)
        kept = sum(1 for _e, r in results if r.outcome in KEPT)
        summary = (
            f"Flushed {len(results)} messages with {self.profile.name}: {sent} sent, "
            f"{kept} still queued."
        )
        first = results[0][1]
        session = first if len(results) == 1 else first._replace(summary=summary)
        done = tuple((e, r) for e, r in results if e is not None)
        return FlushResult(session, done, tuple(skipped))

    async def check(self, rcpts: Sequence[str] = ()) -> AttemptResult:
        """Pre-flight: everything a send does except DATA; the summary is the verdict."""
        from tui.core.message import parse_mailbox

        try:
            addresses = [parse_mailbox(r, "rcpt").ascii_addr_spec() for r in rcpts]
        except MessageInputError as exc:
            return AttemptResult(Outcome.INPUT, ExitCode.DATAERR, f"cannot tell: {exc.reason}.")
        secret, problem = await self._before_connecting()
        if problem is not None:
            if problem.diagnosis is not None and problem.diagnosis.kind == "auth-over-plaintext":
                return problem._replace(summary=f"will be refused: {problem.summary}")
            return problem
        results = await self._session(secret, [], addresses)
        return results[0][1]

    def interrupted(self) -> AttemptResult:
        """After a cancelled send: what the outbox made of the message, or "not sent"."""
        if self.settled and self.settled[0][1].outcome is not Outcome.CANCELLED:
            return self.settled[0][1]
        return INTERRUPTED

    # -- before and during the session ---------------------------------------------------------

    async def _before_connecting(self) -> tuple[str | None, AttemptResult | None]:
        """What every attempt checks first: no password over plain text, and the password
        (or OAuth2 access token) itself. Returns (secret, None), or (None, the failure)
        without any connection."""
        profile = self.profile
        context = Context(profile, self.profiles)
        if profile.logs_in and profile.security == "none":
            return None, early_failure(context, Failure("config", error="plaintext-auth"))
        if not profile.logs_in or self.password is not None:
            return self.password if profile.logs_in else None, None
        if profile.fetches_token:
            from tui.core.oauth.tokens import TokenError, access_token

            try:  # a refresh is a trip to the provider: not on the event loop
                return await asyncio.to_thread(access_token, profile), None
            except TokenError as exc:
                failure = Failure("auth", error=exc.error, detail=f"{exc}.")
                return None, early_failure(context, failure)
        try:
            return resolve_password(profile, self.prompt), None
        except SecretError as exc:
            failure = Failure("config", error="no-password", detail=f"{exc}.")
            return None, early_failure(context, failure)

    async def _session(
        self,
        secret: str | None,
        jobs: Sequence[tuple[Claim, Prepared]],
        check_rcpt: Sequence[str] | None,
        bcc: Mapping[int, Sequence[str]] | None = None,
    ) -> list[tuple[OutboxEntry | None, AttemptResult]]:
        """One session: connect, send every job (or check), then file, record and remember
        the outcomes; on cancellation too, before the cancellation goes on. Then the Sent
        copies of what was accepted, outside the session's timing, in the same transcript."""
        run = _Run(self, secret, jobs, check_rcpt)
        run.bcc = bcc or {}
        note = None
        try:
            await run.prepare()
            report = await run.session.run([p for _c, p in jobs], check_rcpt)
            failure = report.failure
            if failure is not None and failure.stage == "connect" and self.probe:
                results = await probe_ports(
                    self.profile.host,
                    self.probe,
                    limit=min(3.0, self.profile.timeout),
                    source=self.profile.source_address,
                )
                note = describe_probe(self.profile.host, results)
                run.probe = results
                ports = ", ".join(
                    f"{port} {'open' if ok else 'closed'}" for port, ok in results.items()
                )
                run.listen(make_event(Mark.INFO, f"port probe: {ports}"))
            await run.copy_to_sent()
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):  # stopped: what had not left stays
                run.session.report.failure = Failure("cancelled", error="cancelled")  # back
            run.finish(None)  # settles every claim with what is known (maybe delivered?)
            raise
        return run.finish(note)


class _Run:
    """The working state of one session: its claims, transcript recorder and outcomes. It is
    the session's journal: the outbox hears of each end of data and each acceptance at once."""

    def __init__(
        self,
        attempt: Attempt,
        secret: str | None,
        jobs: Sequence[tuple[Claim, Prepared]],
        check_rcpt: Sequence[str] | None,
    ) -> None:
        self.attempt = attempt
        self.profile = attempt.profile
        self.jobs = jobs
        self.check_rcpt = check_rcpt
        self.locator = attempt.locator or Locator()
        self.history = attempt.history if attempt.history is not None else NetworkHistory()
        self.identity = self.locator.current()  # /proc and ioctl reads: no waiting
        self.local_address: str | None = None
        self.recorder = AttemptRecorder()
        self.listen = fan_out(self.recorder, attempt.listener)
        early, attempt.early_connection = attempt.early_connection, None
        self.session = SmtpSession(
            self.profile, secret, self.listen, journal=self if jobs else None, early=early
        )
        self.started = datetime.now().astimezone()
        self.early: dict[int, Settled] = {}  # messages filed the moment they were accepted
        self.probe: dict[int, bool] | None = None  # which ports answered, after a failed connect
        self.finished: list[tuple[OutboxEntry | None, AttemptResult]] | None = None
        self.secret = secret
        # The bytes of each accepted message, held before the outbox files them away, and
        # when it was accepted (the copy's internal date); then what became of its copy.
        self.to_copy: dict[int, tuple[bytes | IO[bytes], datetime]] = {}
        self.copied: dict[int, CopyResult] = {}
        self.bcc: Mapping[int, Sequence[str]] = {}  # the envelope's Bcc of each message

    async def prepare(self) -> None:
        self.local_address = await _local_address(self.locator, self.profile)

    # -- the journal ---------------------------------------------------------------------------

    async def end_of_data(self, index: int) -> None:
        # On the event loop, not in a thread: a cancellation must not leave a write behind
        # that lands after the outcome was settled. A small file and one fsync.
        self.attempt.outbox.end_of_data(self.jobs[index][0])

    def accepted(self, index: int, message: MessageReport) -> None:
        """Filed at once, before QUIT: a crash from here on does not resend it."""
        claim, prepared = self.jobs[index]
        if self.profile.copies_to_sent:
            from tui.core.copying import source_of
            from tui.core.sent_copy import CopyOutcome, CopyResult

            try:
                self.to_copy[index] = (source_of(prepared), datetime.now().astimezone())
            except OSError as exc:
                why = f"copy to Sent failed: the sent message could not be read ({exc.strerror})"
                self.copied[index] = CopyResult(CopyOutcome.FAILED, why)
        result = self._judge(index, message, self.session.report, None)
        self.early[index] = self.attempt.outbox.settle(
            claim, result, fresh=self.fresh, keep=self.attempt.keep
        )

    async def copy_to_sent(self) -> None:
        """Copy each accepted message to the IMAP Sent folder, one after the other."""
        if not self.to_copy:
            return
        from tui.core.copying import copy_sent

        while self.to_copy:
            index = min(self.to_copy)
            source, when = self.to_copy.pop(index)
            self.copied[index] = await copy_sent(
                self.profile,
                self.jobs[index][1],
                source,
                self._bcc(index, source),
                when,
                self.listen,
                self.secret,
            )

    def _bcc(self, index: int, source: bytes | IO[bytes]) -> Sequence[str]:
        from tui.core.copying import hidden_recipients

        hidden = self.bcc.get(index)
        if hidden is None:  # the envelope knows who had it in Bcc; the header does not
            hidden = hidden_recipients(_header_of(source), self.jobs[index][1].recipients)
        return hidden

    def keep_uncopied(self) -> None:
        """A cancellation (Ctrl-C) came before these accepted messages were copied to Sent:
        each is kept for a later try (pending_copies), not lost. The copy under way when it
        came goes on in its thread, and is kept there if it fails."""
        if not self.to_copy:
            return
        from tui.core.copying import keep_for_later

        for index, (source, when) in sorted(self.to_copy.items()):
            self.copied[index] = keep_for_later(
                self.profile, self.jobs[index][1], source, self._bcc(index, source), when
            )
        self.to_copy.clear()

    @property
    def fresh(self) -> bool:
        return self.attempt.mode is Mode.SEND

    # -- the outcome ---------------------------------------------------------------------------

    def _context(self, client: str | None, note: str | None) -> Context:
        from tui.core.network import outside_networks

        return Context(
            self.profile,
            self.attempt.profiles,
            self.history.score_for(self.identity),
            client or self.local_address,
            note,
            self.probe,
            outside_networks(self.profile, self.local_address, client),
            self.history.worked_elsewhere(self.identity, self.profile.id),
            self.session.report.greeting,
        )

    def _judge(
        self, index: int, message: MessageReport, report: SessionReport, note: str | None
    ) -> AttemptResult:
        client = reported_client_address(report.greeting, report.ehlo_text)
        base = AttemptResult(
            Outcome.SENT,
            ExitCode.OK,
            "",
            timings=dict(report.timings),
            attempt_id=self.recorder.attempt_id,
            offers=dict(report.offers),
            client_address=client,
            tls=report.certificate.summary() if report.certificate else None,
            message_id=self.jobs[index][1].message_id if self.jobs else None,
        )
        return judge(
            self._context(client, note),
            report,
            message,
            report.outcome_of(index),
            self.check_rcpt is not None,
            base,
        )

    def finish(self, note: str | None) -> list[tuple[OutboxEntry | None, AttemptResult]]:
        """Settle every claim, save the record, remember the outcome against the network."""
        if self.finished is not None:
            return self.finished
        self.keep_uncopied()  # left uncopied by a cancellation
        report = self.session.report
        if len(report.messages) < max(1, len(self.jobs)):  # cancelled before the session ran
            report.messages = [MessageReport() for _ in range(max(1, len(self.jobs)))]
            report.failure = report.failure or Failure("cancelled", error="cancelled")
        results: list[tuple[OutboxEntry | None, AttemptResult]] = []
        for index, message in enumerate(report.messages):
            result = self._judge(index, message, report, note)
            failure = report.outcome_of(index)
            # The end of data had left and no reply came: whatever else went wrong (a
            # cancellation, a fault of mailtui's own), the message may have arrived.
            no_reply = failure is not None and failure.code is None
            if message.end_sent and no_reply and result.outcome is not Outcome.UNKNOWN:
                result = _in_doubt(result)
            entry: OutboxEntry | None = None
            if self.jobs:
                claim = self.jobs[index][0]
                settled = self.early.get(index)
                if settled is None:
                    settled = self.attempt.outbox.settle(
                        claim, result, fresh=self.fresh, keep=self.attempt.keep
                    )
                entry = claim.entry
                result = _where(result, settled, entry, self.attempt.mode)
            copied = self.copied.get(index)
            if copied is not None:
                result = _with_copy(result, copied)
            results.append((entry, result))
            self.attempt.settled.append((entry, result))
        warnings = self._record(results)
        if results:  # never raises: a warning when networks.json cannot be written
            remembered = self.history.record(self.identity, self.profile.id, results[0][1])
            if remembered is not None:
                warnings.append(remembered)
        if warnings:
            results = [(e, r._replace(warnings=r.warnings + tuple(warnings))) for e, r in results]
            self.attempt.settled[-len(results) :] = results
        self.finished = results
        return results

    def _record(self, results: list[tuple[OutboxEntry | None, AttemptResult]]) -> list[str]:
        """The attempt's JSON record beside its transcript; returns what could not be saved."""
        first = results[0][1] if results else None
        check = self.check_rcpt is not None
        prepared = [p for _c, p in self.jobs]
        if check:
            envelope = {"from": self.profile.from_, "to": list(self.check_rcpt or ())}
        else:
            envelope = {
                "from": prepared[0].sender if prepared else self.profile.from_,
                "to": [r for p in prepared for r in p.recipients],
            }
        record: dict[str, Any] = result_record(first) if first else {}
        if self.copied:
            from tui.core.copying import copy_record
        if len(results) > 1:
            record["messages"] = [
                {
                    "message_id": r.message_id,
                    "outcome": r.outcome.value,
                    "summary": r.summary,
                    **({"sent_copy": copy_record(self.copied[i])} if i in self.copied else {}),
                }
                for i, (_entry, r) in enumerate(results)
            ]
        elif 0 in self.copied:
            record["sent_copy"] = copy_record(self.copied[0])
        identity: NetworkIdentity = self.identity
        client = first.client_address if first else None
        self.recorder.finish(
            {
                "time": self.started.isoformat(timespec="milliseconds"),
                "kind": self.attempt.origin or self.attempt.mode.value,
                "profile": self.profile.id,
                "profile_name": self.profile.name,
                "server": self.profile.server,
                "envelope": envelope,
                "subject": prepared[0].subject
                if len(prepared) == 1
                else (f"{len(prepared)} messages" if prepared else ""),
                "network": {
                    "key": identity.key,
                    "description": identity.describe(),
                    "local_address": self.local_address,
                    "reported_address": client,
                },
                **record,
            }
        )
        # The recorder never raises: a full disk costs the transcript, never the outcome.
        warning = self.recorder.warning
        return [warning] if warning else []


def _with_copy(result: AttemptResult, copied: "CopyResult") -> AttemptResult:
    """The copy's outcome beside the send's, never instead of it: a failure is a warning."""
    warnings = (copied.summary,) if copied.failed else ()
    return result._replace(sent_copy=copied.summary, warnings=result.warnings + warnings)


def _header_of(source: bytes | IO[bytes]) -> bytes:
    """The header block of a message held as an open file, the file left where it was."""
    if isinstance(source, bytes):
        return source
    start = source.tell()
    head = source.read(256 * 1024)
    source.seek(start)
    return head


def _not_kept(box: Outbox, exc: OSError) -> AttemptResult:
    """Nothing is sent that the outbox could not keep first."""
    return AttemptResult(
        Outcome.CONFIG,
        ExitCode.IOERR,
        f"Not sent: the message could not be kept in the outbox at {box.folder} "
        f"({exc.strerror}); free some space or fix the folder's permissions and try again.",
    )


def _in_doubt(result: AttemptResult) -> AttemptResult:
    """The end of data had left: whatever else went wrong, the message may have arrived."""
    return result._replace(
        outcome=Outcome.UNKNOWN,
        exit_code=ExitCode.TEMPFAIL,
        summary="The whole message had been sent, but the server's confirmation never came, "
        "so it may or may not have been delivered; check with the recipient before sending "
        "again.",
    )


def _where(
    result: AttemptResult, settled: Settled, entry: OutboxEntry, mode: Mode = Mode.SEND
) -> AttemptResult:
    """Say where the message is now, after the explanation. A flush does not advise a
    flush: its message simply waits for the next one."""
    said = result.summary.rstrip()
    tail = ""
    if settled.state == UNKNOWN:
        tail = (
            " It stays in the outbox marked 'outcome unknown' and is not resent "
            "automatically: check with the recipient, then retry or delete it."
        )
    elif settled.state == QUEUED and result.outcome is Outcome.NOT_TRIED:
        tail = " It stays queued for the next flush."
    elif settled.state == QUEUED and result.outcome is Outcome.TEMPORARY:
        if mode is Mode.FLUSH:
            tail = " It stays queued for the next flush."
        else:
            tail = " It is kept in the outbox and will be retried (mailtui outbox flush)."
    elif settled.state == REFUSED:
        tail = (
            " It stays in the outbox marked 'refused' and is not retried: edit or delete it, "
            f"or send it again with 'mailtui outbox retry {entry.id}'."
        )
    elif settled.state == HELD:
        tail = (
            " It stays in the outbox, held until you fix the profile; then send it with "
            f"'mailtui outbox retry {entry.id}'."
        )
    if tail and not said.endswith((".", "!", "?")):
        said += "."
    return result._replace(summary=said + tail, warnings=result.warnings + settled.warnings)


async def _in_thread(
    box: Outbox, filing: Callable[[], tuple[Claim, Prepared]]
) -> tuple[Claim, Prepared]:
    """File a large message into the outbox in a thread, so the event loop keeps going.
    Cancelled meanwhile, it waits for the thread and takes the message out again: nothing
    went, and nothing may be left behind for a later flush to send."""
    import concurrent.futures
    import threading

    done: concurrent.futures.Future[tuple[Claim, Prepared]] = concurrent.futures.Future()

    def work() -> None:
        try:
            done.set_result(filing())
        except BaseException as exc:
            done.set_exception(exc)

    threading.Thread(target=work, name="mailtui-filing", daemon=True).start()
    try:
        return await asyncio.shield(asyncio.wrap_future(done))
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            box.discard(done.result()[0])  # blocks until the file is written: then gone
        raise


async def _local_address(locator: Locator, profile: Profile) -> str | None:
    """Without a name lookup this is immediate; with one, it must not block the loop."""
    import ipaddress

    try:
        ipaddress.ip_address(profile.host)
    except ValueError:
        return await asyncio.to_thread(locator.local_address, profile)
    return locator.local_address(profile)


# -- the everyday entry points -----------------------------------------------------------------


async def send(
    profile: Profile, draft: Draft, *, message_id: str | None = None, **kw: Any
) -> AttemptResult:
    """Send `draft` with `profile` (see Attempt.send)."""
    return await Attempt(profile, Mode.SEND, **kw).send(draft, message_id)


async def flush(
    profile: Profile, entries: Sequence[OutboxEntry] | None = None, **kw: Any
) -> FlushResult:
    """Send the queued messages of `profile` that this process can claim (see Attempt.flush)."""
    return await Attempt(profile, Mode.FLUSH, **kw).flush(entries)


async def check(profile: Profile, rcpts: Sequence[str] = (), **kw: Any) -> AttemptResult:
    """Pre-flight `profile` (see Attempt.check)."""
    return await Attempt(profile, Mode.CHECK, **kw).check(rcpts)
