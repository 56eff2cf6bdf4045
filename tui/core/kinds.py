"""One vocabulary for what an attempt came to: every kind of failure, and what each means for
the outcome, the exit code, the outbox and the suggestion of another profile."""

from enum import StrEnum
from typing import NamedTuple

from tui.core.results import ExitCode, Outcome


class Kind(StrEnum):
    # the profile or the input (nothing reached a server, or the server showed the profile
    # is wrong for it)
    PLAINTEXT_AUTH = "auth-over-plaintext"
    AUTH_METHOD = "auth-method-unavailable"
    NO_PASSWORD = "no-password"
    INPUT = "input"
    CONFIG = "config"
    IMPLICIT_TLS_PORT = "implicit-tls-port"
    PLAIN_PORT = "plain-port"
    TLS_REQUIRED = "tls-required"
    # the network
    CONNECTION_REFUSED = "connection-refused"
    CONNECTION_TIMEOUT = "connection-timeout"
    PORT_BLOCKED = "port-blocked"
    UNREACHABLE = "unreachable"
    NO_GREETING = "no-greeting"
    TIMEOUT = "timeout"
    DISCONNECTED = "disconnected"
    UNKNOWN_OUTCOME = "unknown-outcome"
    NOT_TRIED = "not-tried"
    CANCELLED = "cancelled"
    # TLS and tampering
    STARTTLS_MISSING = "starttls-missing"
    STARTTLS_INJECTION = "starttls-injection"
    STARTTLS_FAILED = "starttls-failed"
    PIN_MISMATCH = "pin-mismatch"
    CERT_EXPIRED = "cert-expired"
    CERT_HOSTNAME = "cert-hostname"
    CERT_UNTRUSTED = "cert-untrusted"
    CERT_SELF_SIGNED = "cert-self-signed"
    CERT_UNVERIFIED = "cert-unverified"
    TLS_FAILED = "tls-failed"
    # a server that misbehaves, or mailtui's own disk
    PROTOCOL = "protocol-error"
    EARLY_REPLY = "early-reply"
    LOCAL_IO = "local-io"
    # the login
    AUTH_TEMPORARY = "auth-temporary"
    TOO_MANY_LOGINS = "too-many-logins"
    APP_PASSWORD = "app-password-required"
    WEB_LOGIN = "web-login-required"
    OAUTH_REQUIRED = "oauth-required"
    LOCKED_OUT = "too-many-bad-logins"
    BAD_CREDENTIALS = "bad-credentials"
    # OAuth2: the access token and where it comes from
    SIGN_IN = "sign-in-needed"
    TOKEN_REJECTED = "token-rejected"
    TOKEN_COMMAND = "token-command-failed"
    TOKEN_SERVER = "token-server-unavailable"
    # the server's answer to the message
    GREETING_REFUSED = "greeting-refused"
    GREETING_BUSY = "greeting-busy"
    TEMPORARY = "temporary"
    SENDING_LIMIT = "sending-limit"
    BLOCKLISTED = "blocklisted"
    HOME_NETWORK_BLOCKED = "home-network-blocked"
    RELAY_DENIED = "relay-denied"
    RELAY_PROBABLY = "relay-probably-denied"
    LOGIN_REQUIRED = "login-required"
    SENDER_NOT_OWNED = "sender-not-owned"
    TOO_LARGE = "too-large"
    RECIPIENT_UNKNOWN = "recipient-unknown"
    REFUSED = "refused"


class KindInfo(NamedTuple):
    outcome: Outcome
    exit_code: ExitCode
    suggest_other: bool  # another profile may do better: name the one to use


_CONFIG = KindInfo(Outcome.CONFIG, ExitCode.CONFIG, False)
_LATER = KindInfo(Outcome.TEMPORARY, ExitCode.TEMPFAIL, False)
_LATER_OR_OTHER = KindInfo(Outcome.TEMPORARY, ExitCode.TEMPFAIL, True)
_TLS = KindInfo(Outcome.TLS_FAILED, ExitCode.IOERR, False)
_BROKEN = KindInfo(Outcome.FAILED, ExitCode.IOERR, False)
# A refused login: fix it, or send meanwhile with a profile that works here (ctrl+r).
_LOGIN = KindInfo(Outcome.AUTH_FAILED, ExitCode.NOPERM, True)
_REFUSED = KindInfo(Outcome.REFUSED, ExitCode.UNAVAILABLE, False)
_REFUSED_USE_OTHER = KindInfo(Outcome.REFUSED, ExitCode.UNAVAILABLE, True)

# kind -> outcome, exit code, and whether another profile should be suggested. The outbox
# keeps what is temporary (outcome "temporary" or "unknown") and retries it with backoff.
KINDS: dict[Kind, KindInfo] = {
    Kind.PLAINTEXT_AUTH: _CONFIG,
    Kind.AUTH_METHOD: _CONFIG,
    Kind.NO_PASSWORD: _CONFIG,
    Kind.INPUT: KindInfo(Outcome.INPUT, ExitCode.DATAERR, False),
    Kind.CONFIG: _CONFIG,
    Kind.IMPLICIT_TLS_PORT: _CONFIG,
    Kind.PLAIN_PORT: _CONFIG,
    Kind.TLS_REQUIRED: _CONFIG,
    Kind.CONNECTION_REFUSED: _LATER_OR_OTHER,
    Kind.CONNECTION_TIMEOUT: _LATER_OR_OTHER,
    Kind.PORT_BLOCKED: _CONFIG,  # the fix is the profile's port, not waiting
    Kind.UNREACHABLE: _LATER_OR_OTHER,
    Kind.NO_GREETING: _LATER,
    Kind.TIMEOUT: _LATER,
    Kind.DISCONNECTED: _LATER,
    Kind.UNKNOWN_OUTCOME: KindInfo(Outcome.UNKNOWN, ExitCode.TEMPFAIL, False),
    Kind.NOT_TRIED: KindInfo(Outcome.NOT_TRIED, ExitCode.TEMPFAIL, False),
    Kind.CANCELLED: KindInfo(Outcome.CANCELLED, ExitCode.TEMPFAIL, False),
    Kind.STARTTLS_MISSING: _TLS,
    Kind.STARTTLS_INJECTION: _TLS,
    Kind.STARTTLS_FAILED: _TLS,
    Kind.PIN_MISMATCH: _TLS,
    Kind.CERT_EXPIRED: _TLS,
    Kind.CERT_HOSTNAME: _TLS,
    Kind.CERT_UNTRUSTED: _TLS,
    Kind.CERT_SELF_SIGNED: _TLS,
    Kind.CERT_UNVERIFIED: _TLS,
    Kind.TLS_FAILED: _TLS,
    Kind.PROTOCOL: _BROKEN,
    Kind.EARLY_REPLY: KindInfo(Outcome.FAILED, ExitCode.IOERR, True),
    Kind.LOCAL_IO: _BROKEN,
    Kind.AUTH_TEMPORARY: _LATER,
    Kind.TOO_MANY_LOGINS: _LATER,
    Kind.APP_PASSWORD: _LOGIN,
    Kind.WEB_LOGIN: _LOGIN,
    Kind.OAUTH_REQUIRED: _LOGIN,
    Kind.LOCKED_OUT: _LOGIN,
    Kind.BAD_CREDENTIALS: _LOGIN,
    Kind.SIGN_IN: _LOGIN,
    Kind.TOKEN_REJECTED: _LOGIN,
    Kind.TOKEN_COMMAND: _CONFIG,
    Kind.TOKEN_SERVER: _LATER,
    Kind.GREETING_REFUSED: _REFUSED_USE_OTHER,
    Kind.GREETING_BUSY: _LATER,
    Kind.TEMPORARY: _LATER,
    Kind.SENDING_LIMIT: _LATER,  # for the day: never a reason to switch servers silently
    Kind.BLOCKLISTED: _REFUSED_USE_OTHER,
    Kind.HOME_NETWORK_BLOCKED: _REFUSED_USE_OTHER,
    Kind.RELAY_DENIED: _REFUSED_USE_OTHER,
    Kind.RELAY_PROBABLY: _REFUSED_USE_OTHER,
    Kind.LOGIN_REQUIRED: _REFUSED_USE_OTHER,
    Kind.SENDER_NOT_OWNED: _REFUSED_USE_OTHER,
    Kind.TOO_LARGE: _REFUSED,
    Kind.RECIPIENT_UNKNOWN: _REFUSED,
    Kind.REFUSED: _REFUSED,
}
