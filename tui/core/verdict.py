"""Turn what a session saw into an `AttemptResult`: outcome, exit code, one plain sentence."""

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from tui.core.profiles import Profile
from tui.core.reports import MessageReport, SessionReport
from tui.core.results import AttemptResult, Diagnosis, ExitCode, Failure, Outcome

OUTCOME_BY_EXIT = {
    ExitCode.UNAVAILABLE: Outcome.REFUSED,
    ExitCode.TEMPFAIL: Outcome.TEMPORARY,
    ExitCode.NOPERM: Outcome.AUTH_FAILED,
    ExitCode.IOERR: Outcome.TLS_FAILED,
    ExitCode.CONFIG: Outcome.CONFIG,
    ExitCode.DATAERR: Outcome.INPUT,
}


class Context(NamedTuple):
    """What the explanation may draw on besides the session itself."""

    profile: Profile
    profiles: Sequence[Profile] = ()
    prefer: Callable[[Profile], float] | None = None
    client_address: str | None = None
    note: str | None = None  # appended to a failure's explanation (the port probe)


def early_failure(context: Context, failure: Failure) -> AttemptResult:
    """A failure before any connection (configuration, password)."""
    from tui.core.diagnosis import diagnose  # only failures need it

    diagnosis = diagnose(failure, context.profile, context.profiles)
    outcome = OUTCOME_BY_EXIT.get(diagnosis.exit_code, Outcome.CONFIG)
    return AttemptResult(outcome, diagnosis.exit_code, diagnosis.explanation, diagnosis)


def judge(
    context: Context,
    session: SessionReport,
    message: MessageReport,
    failure: Failure | None,
    check: bool,
    base: AttemptResult,
) -> AttemptResult:
    """The result for one message (or for a check), from its report and deciding failure."""
    profile = context.profile
    base = base._replace(recipients=tuple(message.recipients), size=message.size)
    refused = [r for r in message.recipients if not r.accepted]
    if failure is not None and failure.error == "cancelled":
        return base._replace(
            outcome=Outcome.CANCELLED,
            exit_code=ExitCode.TEMPFAIL,
            summary="Cancelled; the message was not sent.",
        )
    if failure is not None and failure.error == "not-tried":
        return base._replace(
            outcome=Outcome.NOT_TRIED,
            exit_code=ExitCode.TEMPFAIL,
            summary="Not tried: the connection ended before this message's turn.",
        )
    if failure is not None:
        diagnosis = _diagnose(
            failure, profile, context.profiles, context.prefer, context.client_address
        )
        if context.note:
            diagnosis = diagnosis._replace(explanation=f"{diagnosis.explanation} {context.note}")
        outcome = OUTCOME_BY_EXIT.get(diagnosis.exit_code, Outcome.REFUSED)
        if diagnosis.kind == "unknown-outcome":
            outcome = Outcome.UNKNOWN
        summary = diagnosis.explanation
        if check:
            temporary = diagnosis.exit_code == ExitCode.TEMPFAIL
            summary = f"{'cannot tell' if temporary else 'will be refused'}: {summary}"
        return base._replace(
            outcome=outcome,
            exit_code=diagnosis.exit_code,
            summary=summary,
            diagnosis=diagnosis,
        )
    if refused:
        first = refused[0]
        diagnosis = _diagnose(
            Failure("rcpt", code=first.code, text=first.text, recipient=first.address),
            profile,
            context.profiles,
            context.prefer,
            context.client_address,
        )
        names = ", ".join(f"{r.address} ({r.code} {_first_line(r.text)})" for r in refused)
        accepted = ", ".join(r.address for r in message.recipients if r.accepted)
        if check:
            summary = f"will be refused for {names}. {diagnosis.explanation}"
        else:
            summary = (
                f"Partly sent: accepted for {accepted}, but refused for {names}. "
                f"{diagnosis.explanation}"
            )
        later = all(400 <= r.code < 500 for r in refused)  # greylisting: they may take it
        return base._replace(
            outcome=Outcome.REFUSED if check else Outcome.PARTIAL,
            exit_code=ExitCode.TEMPFAIL if later else ExitCode.UNAVAILABLE,
            summary=summary,
            diagnosis=diagnosis,
        )
    if check:
        summary = f"will work: {profile.host} accepted the sender and recipients."
        return base._replace(outcome=Outcome.WOULD_WORK, summary=summary)
    to = ", ".join(r.address for r in message.recipients)
    total = session.timings.get("total", 0.0)
    summary = f"Sent to {to} with {profile.name} ({profile.host}) in {total:.0f} ms."
    return base._replace(summary=summary)


def _diagnose(*args: Any) -> Diagnosis:
    from tui.core.diagnosis import diagnose  # loaded on the first failure only

    return diagnose(*args)


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""
