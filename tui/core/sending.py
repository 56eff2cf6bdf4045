"""Send a draft, flush the outbox, or check a profile: the entry points the CLI and the app call.

Every message is kept in the outbox before its first connection, so it ends up sent (with a
copy in `sent/`), still in the outbox (temporary failure, outcome unknown), or back with the
person (the compose form, or `drafts/` from the command line). The transcript goes to every
listener and to disk, the outcome is remembered against the network, and the result carries
an exit code and a plain-language explanation.
"""

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from tui.core import locations, maildir
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
from tui.core.outbox import QUEUED, Outbox, OutboxEntry
from tui.core.profiles import Profile
from tui.core.results import KEPT, AttemptResult, ExitCode, Failure, Outcome
from tui.core.secrets import Prompt, SecretError, resolve_password
from tui.core.session import SessionReport, SmtpSession
from tui.core.transcript import Listener, Mark, SessionEvent, make_event
from tui.core.verdict import Context, early_failure, judge

# A message the server refused for good leaves the outbox; a session that could not log in
# or set up TLS says nothing about the queued messages themselves.
_SESSION_PROBLEMS = {"auth", "tls", "starttls", "config", "connect", "greeting", "ehlo"}


def fan_out(*listeners: Listener | None) -> Listener:
    active = [listener for listener in listeners if listener is not None]

    def listen(event: SessionEvent) -> None:
        for listener in active:
            listener(event)

    return listen


class Surroundings(NamedTuple):
    """What an attempt needs to know about the world around the profile."""

    profiles: Sequence[Profile] = ()
    locator: Locator | None = None
    history: NetworkHistory | None = None
    probe: Sequence[int] = DEFAULT_PROBE_PORTS
    outbox: Outbox | None = None


class FlushResult(NamedTuple):
    """One flush: the session as a whole, and what happened to each queued message."""

    session: AttemptResult
    messages: tuple[tuple[OutboxEntry, AttemptResult], ...]

    @property
    def sent(self) -> int:
        return sum(1 for _entry, result in self.messages if result.exit_code == ExitCode.OK)

    @property
    def still_queued(self) -> int:
        return sum(1 for _entry, result in self.messages if result.outcome in KEPT)


async def send(
    profile: Profile,
    draft: Draft,
    *,
    profiles: Sequence[Profile] = (),
    listener: Listener | None = None,
    password: str | None = None,
    prompt: Prompt | None = None,
    message_id: str | None = None,
    locator: Locator | None = None,
    history: NetworkHistory | None = None,
    probe: Sequence[int] = DEFAULT_PROBE_PORTS,
    outbox: Outbox | None = None,
    drafts_on_failure: bool = False,
) -> AttemptResult:
    """Send `draft` with `profile`; never raises for input, configuration or SMTP failures.

    With `drafts_on_failure` (the command line), a message that cannot be sent for good is
    saved to `drafts/`; the app keeps it in its form instead.
    """
    where = Surroundings(profiles, locator, history, probe, outbox)
    context = Context(profile, profiles)

    def keep_draft(result: AttemptResult) -> AttemptResult:
        if not drafts_on_failure:
            return result
        from tui.core.drafts import Drafts  # only needed when a send fails for good

        drafts = Drafts()
        said = result.summary.rstrip()
        said += "" if said.endswith((".", "?", "!")) else "."
        try:
            draft_id = drafts.save(draft, profile.id)
        except OSError as exc:
            return result._replace(
                summary=f"{said} Saving it to drafts failed too ({exc.strerror})."
            )
        where = maildir.find(drafts.folder, draft_id) or drafts.folder
        return result._replace(summary=f"{said} The message was saved to drafts: {where}")

    try:
        composed = compose(profile.from_, draft, message_id=message_id)
    except MessageInputError as exc:
        return keep_draft(
            AttemptResult(Outcome.INPUT, ExitCode.DATAERR, f"Not sent: {exc.reason}.")
        )
    interrupted = AttemptResult(
        Outcome.CANCELLED, ExitCode.INTERRUPTED, "Interrupted; the message was not sent."
    )
    try:
        secret, problem = _before_connecting(profile, context, password, prompt)
    except KeyboardInterrupt:  # Ctrl-C at the password prompt
        if not drafts_on_failure:
            raise
        return keep_draft(interrupted)
    if problem is not None:
        return keep_draft(problem)
    box = outbox or Outbox()
    # Building and filing a large message must not hold up the event loop (the app keeps
    # drawing); a small one is cheaper done at once than handed to a thread.
    small = not composed.attachments and len(composed.body) < 256 * 1024
    try:
        if small:
            entry, prepared = box.add_composed(composed, profile.id)
        else:
            entry, prepared = await asyncio.to_thread(box.add_composed, composed, profile.id)
    except MessageInputError as exc:  # an attachment that failed to read (wire.py)
        return keep_draft(
            AttemptResult(Outcome.INPUT, ExitCode.DATAERR, f"Not sent: {exc.reason}.")
        )
    except OSError as exc:
        return keep_draft(
            AttemptResult(
                Outcome.CONFIG,
                ExitCode.IOERR,
                f"Not sent: the message could not be kept in the outbox at {box.folder} "
                f"({exc.strerror}); free some space or fix the folder's permissions and try "
                "again.",
            )
        )
    filed: list[tuple[OutboxEntry | None, AttemptResult]] = []
    try:
        results = await _attempt(
            profile, secret, where, listener, [(entry, prepared)], None, box, True, filed
        )
    except asyncio.CancelledError:
        if not drafts_on_failure:
            raise  # the app keeps the message in its form
        # `mailtui send` interrupted (Ctrl-C): what was filed stands (sent/, or the outbox
        # when the outcome is unknown); a message that never went is saved to drafts.
        if filed and filed[0][1].outcome is not Outcome.CANCELLED:
            return filed[0][1]
        if not filed:  # stopped before the session began: nothing was handed over
            box.remove(entry.id)
        return keep_draft(interrupted)
    result = results[0][1]
    return keep_draft(result) if _permanent(result) else result


async def flush(
    profile: Profile,
    entries: Sequence[OutboxEntry],
    *,
    profiles: Sequence[Profile] = (),
    listener: Listener | None = None,
    password: str | None = None,
    prompt: Prompt | None = None,
    locator: Locator | None = None,
    history: NetworkHistory | None = None,
    outbox: Outbox | None = None,
) -> FlushResult:
    """Send queued messages of one profile over a single connection, RSET between them."""
    box = outbox or Outbox()
    if not entries:
        nothing = AttemptResult(Outcome.SENT, ExitCode.OK, "Nothing to send.")
        return FlushResult(nothing, ())
    context = Context(profile, profiles)
    secret, problem = _before_connecting(profile, context, password, prompt)
    if problem is not None:
        return FlushResult(problem, tuple((e, problem) for e in entries))
    jobs: list[tuple[OutboxEntry, Prepared]] = []
    for entry in entries:
        claimed = await asyncio.to_thread(box.claim, entry)
        jobs.append((claimed, await asyncio.to_thread(box.prepared, claimed)))
    where = Surroundings(profiles, locator, history, (), box)
    results = await _attempt(profile, secret, where, listener, jobs, None, box, fresh=False)
    sent = sum(1 for _e, r in results if r.exit_code == ExitCode.OK)
    kept = sum(1 for _e, r in results if r.outcome in KEPT)
    summary = (
        f"Flushed {len(results)} messages with {profile.name}: {sent} sent, {kept} still queued."
    )
    session = results[0][1] if len(results) == 1 else results[0][1]._replace(summary=summary)
    return FlushResult(session, tuple((e, r) for e, r in results if e is not None))


async def check(
    profile: Profile,
    rcpts: Sequence[str] = (),
    *,
    profiles: Sequence[Profile] = (),
    listener: Listener | None = None,
    password: str | None = None,
    prompt: Prompt | None = None,
    locator: Locator | None = None,
    history: NetworkHistory | None = None,
    probe: Sequence[int] = DEFAULT_PROBE_PORTS,
) -> AttemptResult:
    """Pre-flight: everything a send does except DATA; the summary is the verdict."""
    from tui.core.message import parse_mailbox

    try:
        addresses = [parse_mailbox(r, "rcpt").ascii_addr_spec() for r in rcpts]
    except MessageInputError as exc:
        return AttemptResult(Outcome.INPUT, ExitCode.DATAERR, f"cannot tell: {exc.reason}.")
    context = Context(profile, profiles)
    secret, problem = _before_connecting(profile, context, password, prompt)
    if problem is not None:
        if problem.diagnosis is not None and problem.diagnosis.kind == "auth-over-plaintext":
            return problem._replace(summary=f"will be refused: {problem.summary}")
        return problem
    where = Surroundings(profiles, locator, history, probe, None)
    results = await _attempt(profile, secret, where, listener, [], addresses, None, fresh=True)
    return results[0][1]


def _before_connecting(
    profile: Profile, context: Context, password: str | None, prompt: Prompt | None
) -> tuple[str | None, AttemptResult | None]:
    """What every attempt checks first: no password over plain text, and the password
    itself. Returns (password, None), or (None, the failure) without any connection."""
    if profile.logs_in and profile.security == "none":
        return None, early_failure(context, Failure("config", error="plaintext-auth"))
    if not profile.logs_in or password is not None:
        return password if profile.logs_in else None, None
    try:
        return resolve_password(profile, prompt), None
    except SecretError as exc:
        failure = Failure("config", error="no-password", detail=f"{exc}.")
        return None, early_failure(context, failure)


def _permanent(result: AttemptResult) -> bool:
    return result.exit_code != ExitCode.OK and result.outcome not in KEPT | {Outcome.CANCELLED}


async def _attempt(
    profile: Profile,
    secret: str | None,
    where: Surroundings,
    listener: Listener | None,
    jobs: Sequence[tuple[OutboxEntry, Prepared]],
    check_rcpt: Sequence[str] | None,
    outbox: Outbox | None,
    fresh: bool,
    filed: list[tuple[OutboxEntry | None, AttemptResult]] | None = None,
) -> list[tuple[OutboxEntry | None, AttemptResult]]:
    """One session: connect, send every job (or check), remember and file the outcomes
    (also into `filed`, which the caller still has when the session is cancelled)."""
    locator = where.locator or Locator()
    history = where.history if where.history is not None else NetworkHistory()
    identity = locator.current()  # /proc and ioctl reads: no waiting
    local_address = await _local_address(locator, profile)
    recorder = AttemptRecorder()
    listen = fan_out(recorder, listener)
    session = SmtpSession(profile, secret, listen)
    started = datetime.now().astimezone()
    check = check_rcpt is not None
    prepared = [p for _entry, p in jobs]

    def finish(
        report: SessionReport, note: str | None
    ) -> list[tuple[OutboxEntry | None, AttemptResult]]:
        client = reported_client_address(report.greeting, report.ehlo_text)
        context = Context(
            profile, where.profiles, history.score_for(identity), client or local_address, note
        )
        base = AttemptResult(
            Outcome.SENT,
            ExitCode.OK,
            "",
            timings=dict(report.timings),
            attempt_id=recorder.attempt_id,
            offers=dict(report.offers),
            client_address=client,
            tls=report.certificate.summary() if report.certificate else None,
        )
        results: list[tuple[OutboxEntry | None, AttemptResult]] = []
        for index, message in enumerate(report.messages):
            entry = jobs[index][0] if jobs else None
            result = judge(
                context,
                report,
                message,
                report.outcome_of(index),
                check,
                base._replace(message_id=prepared[index].message_id if prepared else None),
            )
            if entry is not None and outbox is not None:
                result = _file(outbox, entry, prepared[index], result, report.failure, fresh)
            results.append((entry, result))
        _record(
            recorder,
            started,
            profile,
            identity,
            local_address,
            client,
            jobs,
            check_rcpt,
            results,
            check,
        )
        for _entry, result in results[:1]:
            history.record(identity, profile.id, result)
        if filed is not None:
            filed.extend(results)
        return results

    try:
        report = await session.run(prepared, check_rcpt)
    except asyncio.CancelledError:
        finish(session.report, None)
        raise
    note = None
    failure = report.failure
    if failure is not None and failure.stage == "connect" and where.probe:
        results = await probe_ports(
            profile.host,
            where.probe,
            limit=min(3.0, profile.timeout),
            source=profile.source_address,
        )
        note = describe_probe(profile.host, results)
        ports = ", ".join(f"{port} {'open' if ok else 'closed'}" for port, ok in results.items())
        listen(make_event(Mark.INFO, f"port probe: {ports}"))
    return finish(report, note)


async def _local_address(locator: Locator, profile: Profile) -> str | None:
    """Without a name lookup this is immediate; with one, it must not block the loop."""
    import ipaddress

    try:
        ipaddress.ip_address(profile.host)
    except ValueError:
        return await asyncio.to_thread(locator.local_address, profile)
    return locator.local_address(profile)


def _file(
    outbox: Outbox,
    entry: OutboxEntry,
    prepared: Prepared,
    result: AttemptResult,
    session_failure: Failure | None,
    fresh: bool,
) -> AttemptResult:
    """Put the message where its outcome says: sent/, still the outbox, or back to the person."""
    if result.exit_code == ExitCode.OK or result.outcome is Outcome.PARTIAL:
        try:
            if prepared.path is not None:
                maildir.deliver_file(locations.sent_dir(), prepared.path)
            else:
                maildir.deliver(locations.sent_dir(), prepared.data, sync=False)
        except OSError as exc:
            result = result._replace(
                summary=f"{result.summary} (Writing its copy to sent/ failed: {exc.strerror}.)",
            )
        outbox.remove(entry.id)
        return result
    if result.outcome is Outcome.CANCELLED:
        if fresh:
            outbox.remove(entry.id)
        else:
            outbox.update(entry, state=QUEUED, pid=None)
        return result
    unknown = result.outcome is Outcome.UNKNOWN
    session_problem = session_failure is not None and session_failure.stage in _SESSION_PROBLEMS
    if result.outcome in KEPT or (not fresh and session_problem):
        outbox.failed(entry, result.summary, unknown, result.attempt_id)
        if unknown:
            tail = (
                " It stays in the outbox marked 'outcome unknown' and is not resent "
                "automatically: check with the recipient, then retry or delete it."
            )
        else:
            tail = " It is kept in the outbox and will be retried (mailtui outbox flush)."
        return result._replace(summary=result.summary + tail)
    outbox.remove(entry.id)
    return result


def _record(
    recorder: AttemptRecorder,
    started: datetime,
    profile: Profile,
    identity: NetworkIdentity,
    local_address: str | None,
    client: str | None,
    jobs: Sequence[tuple[OutboxEntry, Prepared]],
    check_rcpt: Sequence[str] | None,
    results: list[tuple[OutboxEntry | None, AttemptResult]],
    check: bool,
) -> None:
    first = results[0][1] if results else None
    if check:
        envelope = {"from": profile.from_, "to": list(check_rcpt or ())}
    else:
        envelope = {
            "from": jobs[0][1].sender if jobs else profile.from_,
            "to": [r for _entry, p in jobs for r in p.recipients],
        }
    record = result_record(first) if first else {}
    if len(results) > 1:
        record["messages"] = [
            {"message_id": r.message_id, "outcome": r.outcome.value, "summary": r.summary}
            for _entry, r in results
        ]
    recorder.finish(
        {
            "time": started.isoformat(timespec="milliseconds"),
            "kind": "check" if check else ("flush" if len(jobs) > 1 else "send"),
            "profile": profile.id,
            "profile_name": profile.name,
            "server": profile.server,
            "envelope": envelope,
            "subject": jobs[0][1].subject
            if len(jobs) == 1
            else (f"{len(jobs)} messages" if jobs else ""),
            "network": {
                "key": identity.key,
                "description": identity.describe(),
                "local_address": local_address,
                "reported_address": client,
            },
            **record,
        }
    )
