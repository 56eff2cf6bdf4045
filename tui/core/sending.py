"""Send a draft or check a profile: the one entry point the CLI and the app both call.

It checks the input, obtains the password, runs the session with the transcript going to
every listener and to disk, and turns what happened into an `AttemptResult` with exit code
and plain-language explanation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from tui.core.diagnosis import Failure, diagnose
from tui.core.history import AttemptRecorder, result_record
from tui.core.message import Composed, Draft, MessageInputError, compose
from tui.core.network import (
    DEFAULT_PROBE_PORTS,
    Locator,
    describe_probe,
    probe_ports,
    reported_client_address,
)
from tui.core.network_history import NetworkHistory
from tui.core.profiles import Profile
from tui.core.results import AttemptResult, ExitCode, Outcome
from tui.core.secrets import Prompt, SecretError, resolve_password
from tui.core.session import SessionReport, SmtpSession
from tui.core.transcript import Listener, Mark, SessionEvent, make_event

_OUTCOME_BY_EXIT = {
    ExitCode.UNAVAILABLE: Outcome.REFUSED,
    ExitCode.TEMPFAIL: Outcome.TEMPORARY,
    ExitCode.NOPERM: Outcome.AUTH_FAILED,
    ExitCode.IOERR: Outcome.TLS_FAILED,
    ExitCode.CONFIG: Outcome.CONFIG,
    ExitCode.DATAERR: Outcome.INPUT,
}


def fan_out(*listeners: Listener | None) -> Listener:
    active = [listener for listener in listeners if listener is not None]

    def listen(event: SessionEvent) -> None:
        for listener in active:
            listener(event)

    return listen


def _early_failure(
    profile: Profile, profiles: Sequence[Profile], failure: Failure
) -> AttemptResult:
    diagnosis = diagnose(failure, profile, profiles)
    outcome = _OUTCOME_BY_EXIT.get(diagnosis.exit_code, Outcome.CONFIG)
    return AttemptResult(outcome, diagnosis.exit_code, diagnosis.explanation, diagnosis)


def _password(profile: Profile, password: str | None, prompt: Prompt | None) -> str | None:
    if not profile.logs_in:
        return None
    if password is not None:
        return password
    return resolve_password(profile, prompt)


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
) -> AttemptResult:
    """Send `draft` with `profile`; never raises for input, configuration or SMTP failures.

    The outcome is remembered against the current network (`locator`, `history`); when the
    server cannot be reached, the `probe` ports of the same host are tried and reported.
    """
    try:
        composed = compose(profile.from_, draft, message_id=message_id)
    except MessageInputError as exc:
        return AttemptResult(Outcome.INPUT, ExitCode.DATAERR, f"Not sent: {exc.reason}.")
    where = _Surroundings(profiles, locator or Locator(), history, probe)
    return await _attempt(profile, composed, (), where, listener, password, prompt)


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
    where = _Surroundings(profiles, locator or Locator(), history, probe)
    return await _attempt(profile, None, addresses, where, listener, password, prompt)


@dataclass
class _Surroundings:
    """What an attempt needs to know about the world around the profile."""

    profiles: Sequence[Profile]
    locator: Locator
    history: NetworkHistory | None
    probe: Sequence[int]


async def _attempt(
    profile: Profile,
    composed: Composed | None,
    rcpts: Sequence[str],
    where: _Surroundings,
    listener: Listener | None,
    password: str | None,
    prompt: Prompt | None,
) -> AttemptResult:
    profiles = where.profiles
    if profile.logs_in and profile.security == "none":
        return _early_failure(profile, profiles, Failure("config", error="plaintext-auth"))
    try:
        secret = _password(profile, password, prompt)
    except SecretError as exc:
        return _early_failure(
            profile, profiles, Failure("config", error="no-password", detail=f"{exc}.")
        )
    history = where.history if where.history is not None else NetworkHistory()
    identity = await asyncio.to_thread(where.locator.current)
    local_address = await asyncio.to_thread(where.locator.local_address, profile)
    recorder = AttemptRecorder()
    listen = fan_out(recorder, listener)
    session = SmtpSession(profile, secret, listen)
    started = datetime.now().astimezone()

    def finish(report: SessionReport, note: str | None) -> AttemptResult:
        client = reported_client_address(report.greeting, report.ehlo_text)
        result = _result(
            profile,
            profiles,
            composed,
            report,
            recorder.attempt_id,
            prefer=history.score_for(identity),
            client_address=client or local_address,
            note=note,
        )
        result = replace(result, client_address=client)
        recorder.finish(
            {
                "time": started.isoformat(timespec="milliseconds"),
                "kind": "check" if composed is None else "send",
                "profile": profile.id,
                "profile_name": profile.name,
                "server": f"{profile.host}:{profile.effective_port}",
                "envelope": _envelope(profile, composed, rcpts),
                "subject": composed.subject if composed else "",
                "network": {
                    "key": identity.key,
                    "description": identity.describe(),
                    "local_address": local_address,
                    "reported_address": client,
                },
                **result_record(result),
            }
        )
        history.record(identity, profile.id, result)
        return result

    try:
        report = await session.run(composed, rcpts)
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
        listen(
            make_event(
                Mark.INFO,
                "port probe: "
                + ", ".join(f"{port} {'open' if ok else 'closed'}" for port, ok in results.items()),
            )
        )
    return finish(report, note)


def _envelope(
    profile: Profile, composed: Composed | None, rcpts: Sequence[str]
) -> dict[str, object]:
    if composed is None:
        return {"from": profile.from_, "to": list(rcpts)}
    return {
        "from": composed.sender.addr_spec,
        "to": [m.addr_spec for m in composed.recipients],
    }


def _result(
    profile: Profile,
    profiles: Sequence[Profile],
    composed: Composed | None,
    report: SessionReport,
    attempt_id: str,
    prefer: Callable[[Profile], float] | None = None,
    client_address: str | None = None,
    note: str | None = None,
) -> AttemptResult:
    base = AttemptResult(
        Outcome.SENT,
        ExitCode.OK,
        "",
        recipients=tuple(report.recipients),
        timings=dict(report.timings),
        message_id=composed.message_id if composed else None,
        attempt_id=attempt_id,
        offers=dict(report.offers),
        size=report.size,
        tls=report.certificate.summary() if report.certificate else None,
    )
    refused = [r for r in report.recipients if not r.accepted]
    failure = report.failure
    if failure is not None and failure.error == "cancelled":
        return replace(
            base,
            outcome=Outcome.CANCELLED,
            exit_code=ExitCode.TEMPFAIL,
            summary="Cancelled; the message was not sent.",
        )
    if failure is not None:
        diagnosis = diagnose(failure, profile, profiles, prefer, client_address)
        if note:
            diagnosis = replace(diagnosis, explanation=f"{diagnosis.explanation} {note}")
        outcome = _OUTCOME_BY_EXIT.get(diagnosis.exit_code, Outcome.REFUSED)
        if diagnosis.kind == "unknown-outcome":
            outcome = Outcome.UNKNOWN
        summary = diagnosis.explanation
        if composed is None:
            verdict = (
                "cannot tell" if diagnosis.exit_code == ExitCode.TEMPFAIL else "will be refused"
            )
            summary = f"{verdict}: {summary}"
        return replace(
            base,
            outcome=outcome,
            exit_code=diagnosis.exit_code,
            summary=summary,
            diagnosis=diagnosis,
        )
    if refused:
        first = refused[0]
        diagnosis = diagnose(
            Failure("rcpt", code=first.code, text=first.text, recipient=first.address),
            profile,
            profiles,
            prefer,
            client_address,
        )
        names = ", ".join(f"{r.address} ({r.code} {_first_line(r.text)})" for r in refused)
        accepted = ", ".join(r.address for r in report.recipients if r.accepted)
        if composed is None:
            summary = f"will be refused for {names}. {diagnosis.explanation}"
        else:
            summary = (
                f"Partly sent: accepted for {accepted}, but refused for {names}. "
                f"{diagnosis.explanation}"
            )
        return replace(
            base,
            outcome=Outcome.PARTIAL if composed else Outcome.REFUSED,
            exit_code=ExitCode.UNAVAILABLE,
            summary=summary,
            diagnosis=diagnosis,
        )
    if composed is None:
        summary = f"will work: {profile.host} accepted the sender and recipients."
        return replace(base, outcome=Outcome.WOULD_WORK, summary=summary)
    to = ", ".join(r.address for r in report.recipients)
    total = report.timings.get("total", 0.0)
    summary = f"Sent to {to} with {profile.name} ({profile.host}) in {total:.0f} ms."
    return replace(base, summary=summary)


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""
