"""Why a send failed, in plain words, and which profile would work instead.

Failures are classified from the real reply codes and texts that Postfix, Exim,
Sendmail, Exchange and the big web portals use, and from connection and TLS errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from tui.core.profiles import Profile
from tui.core.results import Diagnosis, ExitCode, Failure
from tui.core.transcript import printable

_BLOCKLIST_RE = re.compile(
    r"block ?list|black ?list|spamhaus|spamcop|barracuda|\brbl\b|dnsbl|blocked using"
    r"|listed (at|on|in)|sorbs|reputation",
    re.I,
)
_RELAY_RE = re.compile(
    r"relay(ing)? (access )?(is )?(denied|not permitted|prohibited|not allowed)|unable to relay"
    r"|not permitted to relay|we do not relay|relay not permitted|relaying denied|relay denied",
    re.I,
)
_STARTTLS_FIRST_RE = re.compile(
    r"starttls|must issue a starttls|tls required|encryption required", re.I
)
_LOGIN_REQUIRED_RE = re.compile(
    r"authentication (is )?required|auth(entication)? required|must authenticate|"
    r"authenticate first|login required|sender address must be authenticated|not authenticated"
    r"|5\.7\.0|5\.7\.57",
    re.I,
)
_UNKNOWN_USER_RE = re.compile(
    r"5\.1\.1|user unknown|no such user|unknown user|mailbox unavailable|does not exist|"
    r"recipient address rejected: user|invalid recipient|mailbox not found",
    re.I,
)
_TOO_LARGE_RE = re.compile(r"5\.3\.4|too (big|large)|size (limit|exceeds)|exceeds .*size", re.I)
_APP_PASSWORD_RE = re.compile(r"application-specific password|app password|5\.7\.9", re.I)


def _file_of(profile: Profile) -> str:
    return str(profile.path) if profile.path is not None else f"profile {profile.id}'s file"


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""


def suggest_profile(
    current: Profile,
    profiles: Sequence[Profile],
    prefer: Callable[[Profile], float] | None = None,
) -> Profile | None:
    """The best other profile to retry with: one that logs in or that worked on this network,
    highest `prefer` score first; never one that `prefer` marks as failing here (below 0)."""
    score = prefer or (lambda _profile: 0.0)
    candidates = [
        p for p in profiles if p.id != current.id and score(p) >= 0 and (p.logs_in or score(p) > 0)
    ]
    candidates.sort(key=lambda p: (score(p), p.logs_in), reverse=True)
    return candidates[0] if candidates else None


def diagnose(
    failure: Failure,
    profile: Profile,
    profiles: Sequence[Profile] = (),
    prefer: Callable[[Profile], float] | None = None,
    client_address: str | None = None,
) -> Diagnosis:
    """One plain-language explanation and the next step for `failure` on `profile`.

    `client_address` is where this machine is (as the server saw it, or the local address).
    """
    # A detail may quote the server (an unreadable reply, the methods it offers).
    failure = failure._replace(detail=printable(failure.detail.strip()))
    kind, exit_code, sentence, wants_other = _classify(failure, profile, client_address)
    other = suggest_profile(profile, profiles, prefer) if wants_other else None
    if other is not None:
        why = "which logs in" if other.logs_in else "which worked on this network"
        sentence += f" Retry with {other.name} (profile {other.id}), {why}."
    return Diagnosis(
        kind=kind,
        exit_code=exit_code,
        explanation=sentence,
        retry_profile=other.id if other else None,
        code=failure.code,
        server_text=_first_line(printable(failure.text)),
    )


def _classify(
    failure: Failure, profile: Profile, client_address: str | None
) -> tuple[str, ExitCode, str, bool]:
    host = profile.server
    here = f" ({client_address})" if client_address else ""
    code = failure.code or 0
    text = printable(failure.text)  # server words: never terminal escapes or markup
    said = f' (it said "{code} {_first_line(text)}")' if failure.code else ""
    error = failure.error

    if error == "plaintext-auth":
        return (
            "auth-over-plaintext",
            ExitCode.CONFIG,
            f"Profile {profile.id} would send its password without encryption; set security = "
            '"starttls" or "tls" in its file.',
            False,
        )
    if error == "auth-method":
        return ("auth-method-unavailable", ExitCode.CONFIG, failure.detail, False)
    if error == "no-password":
        return ("no-password", ExitCode.CONFIG, failure.detail, False)
    if error == "input":
        return ("input", ExitCode.DATAERR, f"Not sent: {failure.detail}.", False)
    if error == "config":
        return ("config", ExitCode.CONFIG, failure.detail, False)
    if error == "expects-tls":
        return (
            "implicit-tls-port",
            ExitCode.CONFIG,
            f"The server at {host} expects TLS from the first byte (implicit TLS, as on port "
            f'465), but profile {profile.id} has security = "{profile.security}", so mailtui '
            'waited for a greeting that never comes: set security = "tls" in '
            f"{_file_of(profile)} (or use the server's STARTTLS port, usually 587); nothing "
            "was sent.",
            False,
        )
    if error == "expects-plain":
        return (
            "plain-port",
            ExitCode.CONFIG,
            f"The server at {host} greets in plain text (STARTTLS comes later, as on ports 25 "
            f'and 587), but profile {profile.id} has security = "tls", which expects TLS from '
            f'the first byte: set security = "starttls" in {_file_of(profile)} ("none" only '
            "for a server that offers no encryption, without a login), or use the server's "
            "implicit-TLS port, usually 465; nothing was sent.",
            False,
        )
    if error == "too-large":  # by the server's SIZE, before sending it: no reply to quote
        return (
            "too-large",
            ExitCode.UNAVAILABLE,
            f"Not sent: {failure.detail}. Make the attachments smaller, or send it with a "
            "profile whose server accepts more.",
            False,
        )
    if error == "refused":
        return (
            "connection-refused",
            ExitCode.TEMPFAIL,
            f"Nothing answered at {host}: the connection was refused, so the server is down or "
            "this network blocks that port.",
            True,
        )
    if error == "timeout" and failure.stage == "connect":
        return (
            "connection-timeout",
            ExitCode.TEMPFAIL,
            f"Connecting to {host} timed out: this network may block the port, or the server is "
            "unreachable from here.",
            True,
        )
    if error == "unreachable":
        return (
            "unreachable",
            ExitCode.TEMPFAIL,
            f"{profile.host} cannot be reached from this network ({failure.detail}).",
            True,
        )
    if error == "timeout" and failure.stage == "greeting" and profile.security != "tls":
        return (
            "no-greeting",
            ExitCode.TEMPFAIL,
            f"The server at {host} accepted the connection but never greeted within "
            f"{profile.timeout:g} seconds; if this port expects TLS from the start (usually "
            '465), set security = "tls", otherwise try again later.',
            False,
        )
    if error == "timeout":
        return (
            "timeout",
            ExitCode.TEMPFAIL,
            f"The server at {host} stopped answering during {failure.stage} and the profile's "
            f"{profile.timeout:g}-second timeout ran out; try again later.",
            False,
        )
    if error == "unknown-outcome":
        return (
            "unknown-outcome",
            ExitCode.TEMPFAIL,
            "The whole message had been sent, but the server's confirmation never came (the "
            "connection broke or the send was stopped), so it may or may not have been "
            "delivered; check with the recipient before sending again.",
            False,
        )
    if error == "early-reply":
        return (
            "early-reply",
            ExitCode.IOERR,
            f"The server at {host} answered {code} before the end of the message, so it did not "
            "receive it whole and it does not count as sent; this server misbehaves, so try "
            "again later or send with another profile.",
            True,
        )
    if error == "local-io":
        return (
            "local-io",
            ExitCode.IOERR,
            f"Not sent: mailtui could not record the send on disk ({failure.detail}), so it "
            "stopped before the end of the message; free some space and try again.",
            False,
        )
    if error == "disconnected":
        return (
            "disconnected",
            ExitCode.TEMPFAIL,
            f"The server at {host} closed the connection during {failure.stage}; try again later.",
            False,
        )
    if error == "starttls-missing":
        return (
            "starttls-missing",
            ExitCode.IOERR,
            f"The server at {host} did not offer STARTTLS, which this profile requires; someone "
            "may be stripping encryption on this network, so nothing was sent.",
            False,
        )
    if error == "starttls-injection":
        return (
            "starttls-injection",
            ExitCode.IOERR,
            f"Data was injected into the connection to {host} right before encryption started, a "
            "sign of an attack on this network; nothing was sent.",
            False,
        )
    if error == "pin-mismatch":
        return (
            "pin-mismatch",
            ExitCode.IOERR,
            f"The certificate of {host} does not match the fingerprint pinned in profile "
            f"{profile.id} ({failure.detail}); nothing was sent. If the server changed its "
            "certificate, update tls_fingerprint.",
            False,
        )
    if error is not None and error.startswith("cert"):
        reasons = {
            "cert-expired": "has expired",
            "cert-hostname": f"is not valid for the name {profile.host}",
            "cert-untrusted": "is not signed by an authority this machine trusts",
            "cert-self-signed": "is self-signed",
        }
        reason = reasons.get(error, "could not be verified")
        return (
            error,
            ExitCode.IOERR,
            f"The certificate of {host} {reason}{failure.detail}; nothing was sent. Add ca_file or "
            "tls_fingerprint to the profile only if you trust this server.",
            False,
        )
    if error == "tls":
        hint = (
            '; if this port speaks plain SMTP first (usually 25 or 587), set security = "starttls"'
            if profile.security == "tls"
            else ""
        )
        return (
            "tls-failed",
            ExitCode.IOERR,
            f"Encryption with {host} could not be set up ({failure.detail}){hint}; nothing was "
            "sent.",
            False,
        )
    if error == "protocol":
        return (
            "protocol-error",
            ExitCode.IOERR,
            f"The server at {host} sent a reply mailtui cannot read ({failure.detail}).",
            False,
        )

    # From here on the server answered with a code.
    if failure.stage == "starttls" and code:
        if 400 <= code < 500:
            return (
                "starttls-failed",
                ExitCode.IOERR,
                f"The server at {host} offered STARTTLS but then refused to start it{said}; "
                "nothing was sent. Try again later.",
                False,
            )
        return (
            "starttls-failed",
            ExitCode.IOERR,
            f"The server at {host} refused to start encryption{said}; nothing was sent.",
            False,
        )
    if failure.stage == "auth" and code:
        if 400 <= code < 500:
            return (
                "auth-temporary",
                ExitCode.TEMPFAIL,
                f"The server could not check the login right now{said}; try again later.",
                False,
            )
        if _APP_PASSWORD_RE.search(text):
            return (
                "app-password-required",
                ExitCode.NOPERM,
                f"The server wants an application-specific password for {profile.username}{said}; "
                "create one in the provider's account settings and use it here.",
                False,
            )
        return (
            "bad-credentials",
            ExitCode.NOPERM,
            f"The server rejected the username or password for {profile.username}{said}; check "
            "them (and whether the provider requires an app password).",
            False,
        )
    if failure.stage == "greeting":
        return (
            "greeting-refused",
            ExitCode.UNAVAILABLE if code >= 500 else ExitCode.TEMPFAIL,
            f"The server at {host} refused the connection at once{said}.",
            code >= 500,
        )
    if 400 <= code < 500:
        return (
            "temporary",
            ExitCode.TEMPFAIL,
            f"The server refused for now{said}; it is a temporary refusal, so try again later.",
            False,
        )
    if code and _BLOCKLIST_RE.search(text):
        return (
            "blocklisted",
            ExitCode.UNAVAILABLE,
            f"The server refused this network's address{here} because it is on a spam "
            f"blocklist{said}; "
            "send through a provider that logs you in instead.",
            True,
        )
    if (
        code
        and _STARTTLS_FIRST_RE.search(text)
        and failure.stage in ("mail", "rcpt", "auth", "data")
    ):
        return (
            "tls-required",
            ExitCode.CONFIG,
            f"The server requires encryption before anything else{said}; set security = "
            '"starttls" in profile ' + profile.id + ".",
            False,
        )
    if (code and _RELAY_RE.search(text)) or (
        failure.stage == "rcpt" and code in (550, 551, 553, 554) and "5.7.1" in text
    ):
        return (
            "relay-denied",
            ExitCode.UNAVAILABLE,
            f"The server {profile.host} refused to relay{said}: it does not trust the network you "
            f"are on now{here}, and only accepts mail without a login from its own customers' "
            "addresses.",
            True,
        )
    if code in (530, 550, 553, 554) and _LOGIN_REQUIRED_RE.search(text):
        needs = "" if profile.logs_in else " set auth and username in the profile, or"
        return (
            "login-required",
            ExitCode.UNAVAILABLE,
            f"The server requires a login before it accepts mail{said};{needs} use a profile "
            "that logs in.",
            not profile.logs_in,
        )
    if code == 552 or (code and _TOO_LARGE_RE.search(text)):
        return (
            "too-large",
            ExitCode.UNAVAILABLE,
            f"The message is too large for this server{said}; make the attachments smaller.",
            False,
        )
    if failure.stage == "rcpt" and _UNKNOWN_USER_RE.search(text):
        return (
            "recipient-unknown",
            ExitCode.UNAVAILABLE,
            f"The recipient {failure.recipient} does not exist{said}; check the address.",
            False,
        )
    what = {
        "rcpt": f"the recipient {failure.recipient}",
        "mail": "the sender",
        "data": "the message",
    }
    return (
        "refused",
        ExitCode.UNAVAILABLE,
        f"The server refused {what.get(failure.stage, 'the message')}{said}.",
        False,
    )
