"""Why an attempt failed, in plain words, and which profile would work instead.

The server's reply goes through the rows of tui/core/wordings.py (how each MTA and provider
words a refusal), a failure without a reply through its local rows; the kind found there
decides the outcome and exit code (tui/core/kinds.py). What mailtui knows besides the words
(the profile does not log in, it is used outside its networks, it worked on another network)
turns an unrecognised 5xx at RCPT into a "probable" relay refusal. One ranker names the
profile to use instead, for failures and for the warning before a send alike.
"""

import re
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from tui.core.kinds import KINDS, Kind
from tui.core.profiles import Profile
from tui.core.reports import MessageReport, SessionReport
from tui.core.results import AttemptResult, Diagnosis, ExitCode, Failure, Outcome, in_brief
from tui.core.transcript import printable
from tui.core.wordings import (
    APP_PASSWORD_SENTENCE,
    CERT_REASONS,
    LOCAL_RULES,
    PORT_BLOCKED_SENTENCE,
    REFUSED_SENTENCE,
    RELAY_PROBABLY_SENTENCE,
    REPLY_RULES,
    ReplyRule,
    app_password_provider,
)

SUBMISSION_PORTS = (587, 465)
_TLS_HINT = '; if this port speaks plain SMTP first (usually 25 or 587), set security = "starttls"'


class Context(NamedTuple):
    """What the explanation may draw on besides the session itself."""

    profile: Profile
    profiles: Sequence[Profile] = ()
    prefer: Callable[[Profile], float] | None = None  # > 0 worked here, < 0 failed here
    client_address: str | None = None
    note: str | None = None  # appended to a failure's explanation (the port probe)
    probe: dict[int, bool] | None = None  # which ports of the host answered from here
    outside: bool = False  # used outside the networks its profile lists
    worked_elsewhere: bool = False  # this profile worked on another network
    greeting: str = ""  # the server's 220 text: who it says it is


# -- one sentence from a reply ---------------------------------------------------------------


def one_sentence(text: str) -> str:
    """A multi-line reply as one line: continuation lines joined with a space, the enhanced
    status code they repeat dropped, terminal controls escaped."""
    lines = [line.strip() for line in text.replace("\r", "").split("\n")]
    first = re.match(r"\d\.\d{1,3}\.\d{1,3}\b", lines[0]) if lines else None
    repeated = first.group() if first else None
    joined: list[str] = []
    for index, line in enumerate(lines):
        if index and repeated and line.startswith(repeated):
            line = line[len(repeated) :].strip()
        if line:
            joined.append(line)
    return printable(re.sub(r"\s+", " ", " ".join(joined)))


def _said(failure: Failure) -> str:
    if not failure.code:
        return ""
    return f' (it said "{failure.code} {one_sentence(failure.text)}")'


# -- the rules ---------------------------------------------------------------------------------


def _matches(rule: ReplyRule, failure: Failure, text: str) -> bool:
    code = failure.code or 0
    if rule.codes is not None and not rule.codes[0] <= code <= rule.codes[1]:
        return False
    if rule.stages is not None and failure.stage not in rule.stages:
        return False
    return rule.pattern is None or re.search(rule.pattern, text, re.I) is not None


def _reply_rule(failure: Failure) -> ReplyRule | None:
    text = f"{failure.code} {one_sentence(failure.text)}"
    return next((r for r in REPLY_RULES if _matches(r, failure, text)), None)


def _local_rule(failure: Failure, profile: Profile) -> tuple[Kind, str] | None:
    error = failure.error
    if error == "timeout" and failure.stage == "greeting" and profile.security != "tls":
        error = "no-greeting"
    for rule in LOCAL_RULES:
        if rule.error == error and (rule.stage is None or rule.stage == failure.stage):
            return rule.kind, rule.sentence
    return None


def _domain(address: str) -> str:
    return address.rpartition("@")[2].lower().rstrip(">")


def _probably_relay(failure: Failure, context: Context) -> str | None:
    """Why an unworded 5xx at RCPT is most likely a relay refusal, or None."""
    profile = context.profile
    if failure.stage != "rcpt" or not 500 <= (failure.code or 0) < 600 or profile.logs_in:
        return None
    own = _domain(_sender(profile))
    if not failure.recipient or _domain(failure.recipient) in (own, profile.host.lower()):
        return None
    why = "this profile sends without a login"
    if context.outside:
        why += ", this network is outside the networks it lists"
    if context.worked_elsewhere:
        why += ", it worked on another network"
    return why


def _port_blocked(kind: Kind, context: Context) -> int | None:
    """The submission port that answers when the profile's port 25 does not."""
    if kind not in (Kind.CONNECTION_TIMEOUT, Kind.CONNECTION_REFUSED) or not context.probe:
        return None
    if context.profile.effective_port != 25:
        return None
    return next((p for p in SUBMISSION_PORTS if context.probe.get(p)), None)


def diagnose(failure: Failure, context: Context) -> Diagnosis:
    """One plain-language explanation and the next step for `failure` on the profile."""
    profile = context.profile
    # A detail may quote the server (an unreadable reply, the methods it offers).
    failure = failure._replace(detail=printable(failure.detail.strip()))
    facts: dict[str, Any] = {
        "host": profile.server,
        "hostname": profile.host,
        "profile_id": profile.id,
        "file": str(profile.path) if profile.path is not None else f"profile {profile.id}'s file",
        "security": profile.security,
        "timeout": f"{profile.timeout:g}",
        "user": profile.username or "this account",
        "sender": _sender(profile),
        "recipient": failure.recipient or "",
        "stage": failure.stage,
        "detail": failure.detail,
        "code": failure.code or "",
        "said": _said(failure),
        "here": f" ({context.client_address})" if context.client_address else "",
        "what": {
            "rcpt": f"the recipient {failure.recipient}",
            "mail": "the sender",
            "data": "the message",
        }.get(failure.stage, "the message"),
        "tls_hint": _TLS_HINT if profile.security == "tls" else "",
    }
    local = _local_rule(failure, profile) if failure.error not in (None, "early-refusal") else None
    if local is not None:
        kind, sentence = local
        if kind in CERT_REASONS:
            facts["cert_reason"] = CERT_REASONS[kind].format(**facts)
    elif failure.code:
        rule = _reply_rule(failure)
        why = _probably_relay(failure, context) if rule is None or rule.maybe_relay else None
        if rule is not None and why is None:
            kind, sentence = rule.kind, rule.sentence
        elif why is not None:
            kind, sentence = Kind.RELAY_PROBABLY, RELAY_PROBABLY_SENTENCE
            facts["why"] = why
        else:
            kind, sentence = Kind.REFUSED, REFUSED_SENTENCE
    else:
        kind, sentence = (
            Kind.PROTOCOL,
            "The server at {host} failed in a way mailtui does not know ({detail}).",
        )
    provider = app_password_provider(profile.host, context.greeting)
    if kind is Kind.BAD_CREDENTIALS and provider is not None and not profile.uses_token:
        kind, sentence = Kind.APP_PASSWORD, APP_PASSWORD_SENTENCE
        facts.update(provider=provider.name, how=provider.how)
    open_port = _port_blocked(kind, context)
    if open_port is not None:
        kind, sentence = Kind.PORT_BLOCKED, PORT_BLOCKED_SENTENCE
        facts.update(
            port=profile.effective_port,
            open_port=open_port,
            open_security="tls" if open_port == 465 else "starttls",
        )
    explanation = sentence.format(**facts)
    info = KINDS[kind]
    other = (
        suggest_profile(profile, context.profiles, context.prefer) if info.suggest_other else None
    )
    if other is not None:
        explanation += " " + _retry_with(other, profile, kind)
    return Diagnosis(
        kind=kind,
        exit_code=info.exit_code,
        explanation=explanation,
        retry_profile=other.id if other else None,
        code=failure.code,
        server_text=one_sentence(failure.text) if failure.code else "",
    )


def _sender(profile: Profile) -> str:
    from tui.core.message import MessageInputError, parse_mailbox

    try:
        return parse_mailbox(profile.from_, "from").addr_spec
    except MessageInputError:
        return profile.from_


# -- the profile to use instead ----------------------------------------------------------------


def suggest_profile(
    current: Profile,
    profiles: Sequence[Profile],
    prefer: Callable[[Profile], float] | None = None,
    local_ok: Callable[[Profile], bool] | None = None,
) -> Profile | None:
    """The best other profile to send with, first of:
    1. one for the same server that logs in (same host and port, or the host's 465/587);
    2. one with the same From address that logs in or worked here;
    3. others that worked on this network, then ones that log in, then (with `local_ok`) an
       IP-trusted one whose networks include this one.
    Never one that `prefer` marks as failing here (below 0)."""
    score = prefer or (lambda _profile: 0.0)
    sender = _sender(current).lower()

    def rank(p: Profile) -> tuple[int, float, bool] | None:
        here = score(p)
        if p.id == current.id or here < 0:
            return None
        same_host = p.host.lower() == current.host.lower()
        if (
            p.logs_in
            and same_host
            and (p.effective_port == current.effective_port or p.effective_port in SUBMISSION_PORTS)
        ):
            tier = 3
        elif _sender(p).lower() == sender and (p.logs_in or here > 0):
            tier = 2
        elif here > 0 or p.logs_in or (local_ok is not None and local_ok(p)):
            tier = 1
        else:
            return None
        return (tier, here, p.logs_in)

    ranked = [(r, p) for p in profiles if (r := rank(p)) is not None]
    return max(ranked, key=lambda pair: pair[0])[1] if ranked else None


def _retry_with(other: Profile, current: Profile, kind: Kind) -> str:
    why = "which logs in" if other.logs_in else "which worked on this network"
    sentence = f"Retry with {other.name} (profile {other.id}), {why}"
    if _sender(other).lower() != _sender(current).lower():
        sentence += f"; it sends as {_sender(other)}"
    return sentence + "."


# -- the result of an attempt --------------------------------------------------------------------


def early_failure(context: Context, failure: Failure) -> AttemptResult:
    """A failure before any connection (configuration, password)."""
    diagnosis = diagnose(failure, context)
    outcome = KINDS[Kind(diagnosis.kind)].outcome
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
    if failure is not None:
        diagnosis = diagnose(failure, context)
        if context.note and diagnosis.kind != Kind.PORT_BLOCKED:
            diagnosis = diagnosis._replace(explanation=f"{diagnosis.explanation} {context.note}")
        info = KINDS[Kind(diagnosis.kind)]
        summary = diagnosis.explanation
        if info.outcome is Outcome.CANCELLED or info.outcome is Outcome.NOT_TRIED:
            return base._replace(outcome=info.outcome, exit_code=ExitCode.TEMPFAIL, summary=summary)
        if check:
            summary = f"{_check_verdict(diagnosis.exit_code)}: {summary}"
        return base._replace(
            outcome=info.outcome,
            exit_code=diagnosis.exit_code,
            summary=summary,
            diagnosis=diagnosis,
        )
    if refused:
        first = refused[0]
        diagnosis = diagnose(
            Failure("rcpt", code=first.code, text=first.text, recipient=first.address), context
        )
        # The first refusal is quoted in the explanation; the others only by their codes.
        names = in_brief([r.address if r is first else f"{r.address} ({r.code})" for r in refused])
        accepted = in_brief([r.address for r in message.recipients if r.accepted])
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
    to = in_brief([r.address for r in message.recipients])
    total = session.timings.get("total", 0.0)
    summary = f"Sent to {to} with {profile.name} ({profile.host}) in {total:.0f} ms."
    return base._replace(summary=summary)


def _check_verdict(exit_code: ExitCode) -> str:
    """What a check says before its explanation: a profile error is not a refusal."""
    if exit_code == ExitCode.TEMPFAIL:
        return "cannot tell"
    if exit_code == ExitCode.CONFIG:
        return "profile error"
    if exit_code == ExitCode.NOPERM:
        return "login refused"
    return "will be refused"
