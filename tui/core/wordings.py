"""How servers word their refusals, and what mailtui says about each: data, in order.

Adding a server or a provider is adding a row: the pattern of its reply, the kind of failure
(tui/core/kinds.py says what each kind means for the exit code and the outbox), the one
sentence with the next step, an example reply exactly as that server sends it (every row is
fed through a scripted server by tests/core/test_wordings.py), and where the wording comes
from. The first row that matches wins, so specific rows come before general ones.

Sentence fields: {host} (host:port), {hostname}, {profile_id}, {file}, {user}, {sender},
{recipient}, {said} (' (it said "…")', the server quoted once, scrubbed and on one line),
{here} (' (this machine's address)'), {what} (the recipient, the sender or the message).
"""

from typing import NamedTuple

from tui.core.kinds import Kind

TEMPORARY = (400, 499)
PERMANENT = (500, 599)


class ReplyRule(NamedTuple):
    kind: Kind
    pattern: str | None  # a regular expression, case-insensitive; None: any text
    sentence: str
    example: str  # a reply as the server sends it: "CODE text" lines, "\n" between them
    stage: str  # where the example is given: greeting, starttls, auth, mail, rcpt, data
    source: str
    codes: tuple[int, int] | None = None  # the reply code's range; None: any
    stages: frozenset[str] | None = None  # where the rule applies; None: anywhere
    # The same words mean a relay refusal too (OpenSMTPD): when what mailtui knows points
    # to relaying (see diagnosis), it says "probably a refusal to relay" instead.
    maybe_relay: bool = False


def _at(*stages: str) -> frozenset[str]:
    return frozenset(stages)


_ENVELOPE = _at("mail", "rcpt", "data")
_RELAY = (
    "The server {hostname} refused to relay{said}: it does not trust the network you are on "
    "now{here}, and only accepts mail without a login from its own customers' addresses."
)

REPLY_RULES: tuple[ReplyRule, ...] = (
    # -- STARTTLS ---------------------------------------------------------------------------
    ReplyRule(
        Kind.STARTTLS_FAILED,
        None,
        "The server at {host} offered STARTTLS but then refused to start it{said}; nothing "
        "was sent. Try again later.",
        "454 4.7.0 TLS not available due to local problem",
        "starttls",
        "Postfix (smtpd.c)",
        TEMPORARY,
        _at("starttls"),
    ),
    ReplyRule(
        Kind.STARTTLS_FAILED,
        None,
        "The server at {host} refused to start encryption{said}; nothing was sent.",
        "554 5.5.1 Error: TLS already active",
        "starttls",
        "Postfix (smtpd.c)",
        PERMANENT,
        _at("starttls"),
    ),
    # -- the login ----------------------------------------------------------------------------
    ReplyRule(
        Kind.OAUTH_REQUIRED,
        r"5\.7\.139|SmtpClientAuthentication is disabled|basic authentication is disabled",
        "Password login (SMTP AUTH) is switched off for {user}'s Microsoft account{said}: "
        'sign in with OAuth2 instead (auth = "xoauth2"), or ask the tenant\'s administrator to '
        "enable SMTP AUTH for this mailbox.",
        "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the "
        "Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.",
        "auth",
        "Microsoft Learn: Exchange Online SMTP AUTH",
        PERMANENT,
        _at("auth"),
    ),
    ReplyRule(
        Kind.WEB_LOGIN,
        r"5\.7\.14|log ?in via your web browser|web browser and then try again",
        "The provider blocked this sign-in until {user} logs in on its website{said}: sign in "
        "there once from this machine's network, confirm it was you, then send again.",
        "534 5.7.14 <https://accounts.google.com/signin/continue?...> Please log in via your "
        "web browser and\n534 5.7.14 then try again.\n534 5.7.14  Learn more at "
        "https://support.google.com/mail/answer/78754",
        "auth",
        "Gmail (support.google.com/mail/answer/78754)",
        PERMANENT,
        _at("auth"),
    ),
    ReplyRule(
        Kind.APP_PASSWORD,
        r"application-specific password|app password|5\.7\.9\b|InvalidSecondFactor",
        "The provider wants an app password for {user}, not the account's own password{said}: "
        "turn on 2-Step Verification, create an app password in the account's security "
        "settings and use it here (or sign in with OAuth2).",
        "534 5.7.9 Application-specific password required. Learn more at\n534 5.7.9  "
        "https://support.google.com/mail/?p=InvalidSecondFactor",
        "auth",
        "Gmail",
        PERMANENT,
        _at("auth"),
    ),
    ReplyRule(
        Kind.LOCKED_OUT,
        r"AUTH005|too many bad auth",
        "The provider stopped accepting logins for {user} after too many failed ones{said}: "
        "it wants an app password (create one in the account's security settings), and wait "
        "before trying again.",
        "535 5.7.0 (#AUTH005) Too many bad auth attempts.",
        "auth",
        "Yahoo and AOL",
        PERMANENT,
        _at("auth"),
    ),
    ReplyRule(
        Kind.TOO_MANY_LOGINS,
        r"too many login attempts|too many (auth|authentication) (attempts|failures)",
        "The server saw too many logins from here{said}: wait a while before sending again; "
        "retrying at once makes it longer.",
        "454 4.7.0 Too many login attempts, please try again later.",
        "auth",
        "Gmail",
        None,
        _at("auth"),
    ),
    ReplyRule(
        Kind.AUTH_TEMPORARY,
        None,
        "The server could not check the login right now{said}; try again later.",
        "454 4.7.0 Temporary authentication failure",
        "auth",
        "Postfix with Cyrus SASL",
        TEMPORARY,
        _at("auth"),
    ),
    ReplyRule(
        Kind.BAD_CREDENTIALS,
        None,
        "The server rejected the username or password for {user}{said}; check them (and "
        "whether the provider requires an app password).",
        "535 5.7.8 Username and Password not accepted. For more information, go to\n535 5.7.8  "
        "https://support.google.com/mail/?p=BadCredentials",
        "auth",
        "Gmail; Microsoft (535 5.7.3 Authentication unsuccessful); Postfix",
        PERMANENT,
        _at("auth"),
    ),
    # -- the greeting ------------------------------------------------------------------------
    ReplyRule(
        Kind.GREETING_BUSY,
        None,
        "The server at {host} turned the connection away for now{said}; try again later.",
        "421 4.3.2 Service not available, closing transmission channel",
        "greeting",
        "Exchange",
        TEMPORARY,
        _at("greeting"),
    ),
    # -- limits, for the day -------------------------------------------------------------------
    ReplyRule(
        Kind.SENDING_LIMIT,
        r"sending limit|5\.4\.5|daily (user )?(sending )?(quota|limit)",
        "The account reached its sending limit for the day{said}: the message stays in the "
        "outbox and goes out when the limit resets (usually within 24 hours).",
        "550 5.4.5 Daily user sending limit exceeded. For more information on Gmail\n550 5.4.5 "
        "sending limits go to\n550 5.4.5  https://support.google.com/a/answer/166852",
        "mail",
        "Gmail",
    ),
    ReplyRule(
        Kind.SENDER_NOT_OWNED,
        r"not owned by user|SendAsDenied|5\.7\.60|5\.2\.252|send as this sender|"
        r"not allowed to send as|sender address is not allowed|from address not verified|"
        r"sender is not allowed to relay|not allowed to send from this address",
        "The server refused {sender} as the sender{said}: {user} may only send as addresses of "
        "its own account. Send with the profile whose From is this address, or set from in "
        "{file} to an address {user} owns.",
        "553 5.7.1 <jane@isp.example>: Sender address rejected: not owned by user jane",
        "rcpt",
        "Postfix reject_sender_login_mismatch; Microsoft 550 5.7.60, 554 5.2.252",
        PERMANENT,
        _ENVELOPE,
    ),
    # -- relay, however the server words it (before "temporary": Postfix's default refusal,
    # defer_unauth_destination, is a 454 that a retry only repeats) ------------------------
    ReplyRule(
        Kind.RELAY_DENIED,
        "relay access denied",
        _RELAY,
        "554 5.7.1 <bob@example.org>: Relay access denied",
        "rcpt",
        "Postfix reject_unauth_destination (smtpd_check.c)",
        None,
        _ENVELOPE,
    ),
    ReplyRule(
        Kind.RELAY_DENIED,
        "relay access denied",
        _RELAY,
        "454 4.7.1 <bob@example.org>: Relay access denied",
        "rcpt",
        "Postfix defer_unauth_destination, the default since 2.10; mailcow",
        None,
        _ENVELOPE,
    ),
    ReplyRule(
        Kind.RELAY_DENIED,
        "relay not permitted",
        _RELAY,
        "550 relay not permitted",
        "rcpt",
        "Exim default configure ACL",
        None,
        _ENVELOPE,
    ),
    ReplyRule(
        Kind.RELAY_DENIED,
        "not permitted to relay",
        _RELAY,
        "550 [192.0.2.9]:42630 is not permitted to relay through this server without\n"
        "550 authentication.",
        "rcpt",
        "Exim on cPanel hosting",
        None,
        _ENVELOPE,
    ),
    ReplyRule(
        Kind.RELAY_DENIED,
        "relaying denied",
        _RELAY,
        "550 5.7.1 <bob@example.org>... Relaying denied. Proper authentication required.",
        "rcpt",
        "Sendmail with AUTH (cf/m4/proto.m4)",
        None,
        _ENVELOPE,
    ),
    ReplyRule(
        Kind.RELAY_DENIED,
        "unable to relay",
        _RELAY,
        "550 5.7.1 Unable to relay",
        "rcpt",
        "Exchange Server receive connector",
        None,
        _ENVELOPE,
    ),
    ReplyRule(
        Kind.RELAY_DENIED,
        "5\\.7\\.54|non-accepted domain",
        _RELAY,
        "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain",
        "rcpt",
        "Exchange 2013-2019",
        None,
        _ENVELOPE,
    ),
    ReplyRule(
        Kind.RELAY_DENIED,
        "tenantattribution",
        _RELAY,
        "550 5.7.64 TenantAttribution; Relay Access Denied",
        "rcpt",
        "Exchange Online (Office 365)",
        None,
        _ENVELOPE,
    ),
    ReplyRule(
        Kind.RELAY_DENIED,
        "allowed rcpthosts",
        _RELAY,
        "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)",
        "rcpt",
        "qmail (qmail-smtpd.c err_nogateway)",
        None,
        _ENVELOPE,
    ),
    ReplyRule(
        Kind.RELAY_DENIED,
        "^513 relaying denied",
        _RELAY,
        "513 Relaying denied.",
        "rcpt",
        "Courier (module.esmtp/esmtp.C)",
        None,
        _ENVELOPE,
    ),
    ReplyRule(
        Kind.RELAY_DENIED,
        "cannot deliver mail for",
        _RELAY,
        "550 I cannot deliver mail for <bob@example.org>",
        "rcpt",
        "Haraka (connection.js)",
        None,
        _ENVELOPE,
    ),
    ReplyRule(
        Kind.RELAY_DENIED,
        "delivery is not allowed to this address",
        _RELAY,
        "550 Delivery is not allowed to this address.",
        "rcpt",
        "hMailServer (SMTPConnection.cpp)",
        None,
        _ENVELOPE,
    ),
    ReplyRule(
        Kind.RELAY_DENIED,
        "relaying is denied",
        _RELAY,
        "550 5.7.1 Relaying is denied",
        "rcpt",
        "Kerio Connect support article",
        None,
        _ENVELOPE,
    ),
    ReplyRule(
        Kind.RELAY_DENIED,
        "mail relay denied|invalid credentials for relay",
        _RELAY,
        "550 5.7.0 Mail relay denied 192.0.2.9. Invalid credentials for relay for one of the "
        "domains in: isp.example",
        "rcpt",
        "Google Workspace SMTP relay (support.google.com/a/answer/6140680)",
        None,
        _ENVELOPE,
    ),
    ReplyRule(
        Kind.RELAY_DENIED,
        "relay not allowed",
        _RELAY,
        "550 5.1.2 Relay not allowed.",
        "rcpt",
        "Stalwart (crates/smtp/src/inbound/rcpt.rs)",
        None,
        _ENVELOPE,
    ),
    ReplyRule(
        Kind.RELAY_DENIED,
        "relaying denied for",
        _RELAY,
        "550 relaying denied for <bob@example.org>",
        "rcpt",
        "Yahoo MX",
        None,
        _ENVELOPE,
    ),
    ReplyRule(
        Kind.RELAY_DENIED,
        "relaying disallowed",
        _RELAY,
        "553 Relaying disallowed",
        "rcpt",
        "Zoho MX",
        None,
        _ENVELOPE,
    ),
    ReplyRule(
        Kind.RELAY_DENIED,
        "mail relay not allowed",
        _RELAY,
        "550 Mail Relay not allowed",
        "rcpt",
        "Gordano GMS",
        None,
        _ENVELOPE,
    ),
    ReplyRule(
        Kind.RELAY_DENIED,
        r"\(relaying\) is not allowed|we do not relay|relaying to .* (prohibited|denied)|"
        r"smtp relaying denied|relay(ing)? (is )?(prohibited|not allowed|denied)",
        _RELAY,
        "554 Refused. Sending to remote addresses (relaying) is not allowed",
        "rcpt",
        "seen in bounces (server unknown)",
        None,
        _ENVELOPE,
    ),
    # -- anything temporary ------------------------------------------------------------------
    ReplyRule(
        Kind.TEMPORARY,
        None,
        "The server refused for now{said}; it is a temporary refusal, so try again later.",
        "450 4.2.0 <bob@example.org>: Recipient address rejected: Greylisted, see "
        "http://postgrey.schweikert.ch/",
        "rcpt",
        "Postgrey",
        TEMPORARY,
    ),
    # -- the network's address -----------------------------------------------------------------
    ReplyRule(
        Kind.HOME_NETWORK_BLOCKED,
        r"\bPBL\b|policy block ?list|not authorized to send email directly|dynamic ip|"
        r"residential|dial-?up|end-user ip",
        "The server does not take mail straight from this network's address{here}{said}, as "
        "it is a home or mobile range: send through your provider's submission server with a "
        "login.",
        "550 5.7.1 [192.0.2.7] The IP you're using to send mail is not authorized to send "
        "email directly to our servers. Please use the SMTP relay at your service provider "
        "instead. Learn more at\n550 5.7.1  https://support.google.com/mail/?p=NotAuthorizedError",
        "rcpt",
        "Gmail; Spamhaus PBL",
        PERMANENT,
    ),
    ReplyRule(
        Kind.BLOCKLISTED,
        r"block ?list|black ?list|spamhaus|spamcop|barracuda|\brbl\b|dnsbl|blocked using|"
        r"listed (at|on|in)|sorbs|reputation|\[BL\d+\]",
        "The server refused this network's address{here} because it is on a spam "
        "blocklist{said}; send through a provider that logs you in instead.",
        "554 5.7.1 Service unavailable; Client host [192.0.2.2] blocked using zen.spamhaus.org",
        "rcpt",
        "Postfix reject_rbl_client",
        PERMANENT,
    ),
    ReplyRule(
        Kind.GREETING_REFUSED,
        None,
        "The server at {host} refused the connection at once{said}.",
        "554 5.7.1 mx.example.net ESMTP not accepting mail from you",
        "greeting",
        "Postfix smtpd_client_restrictions",
        PERMANENT,
        _at("greeting"),
    ),
    # -- the profile -------------------------------------------------------------------------
    ReplyRule(
        Kind.TLS_REQUIRED,
        r"starttls|tls required|encryption required|must issue a starttls",
        "The server requires encryption before anything else{said}; set security = "
        '"starttls" in {file}.',
        "530 5.7.0 Must issue a STARTTLS command first.",
        "mail",
        "Gmail; Postfix smtpd_tls_security_level = encrypt",
        PERMANENT,
        _at("mail", "rcpt", "data", "auth"),
    ),
    ReplyRule(
        Kind.LOGIN_REQUIRED,
        r"authentication (is )?required|auth(entication)? required|must authenticate|"
        r"authenticate first|login required|sender address must be authenticated|"
        r"not authenticated|5\.7\.0|5\.7\.57",
        "The server requires a login before it accepts mail{said}: use a profile that logs "
        "in, or set auth and username in {file}.",
        "530 5.7.57 Client not authenticated to send mail",
        "mail",
        "Exchange Online (5.7.57); Gmail (530 5.7.0 Authentication Required)",
        (530, 554),
        _ENVELOPE,
    ),
    ReplyRule(
        Kind.RELAY_DENIED,
        r"5\.7\.1\b",
        _RELAY,
        "550 5.7.1 <bob@example.org>: rejected by local policy",
        "rcpt",
        "RFC 3463: 5.7.1 is 'delivery not authorized', which at RCPT is mostly relaying",
        (550, 554),
        _at("rcpt"),
    ),
    # -- the message ---------------------------------------------------------------------------
    ReplyRule(
        Kind.TOO_LARGE,
        r"5\.3\.4|too (big|large)|size (limit|exceeds)|exceeds .*size|^552",
        "The message is too large for this server{said}; make the attachments smaller.",
        "552 5.3.4 Message size exceeds fixed limit",
        "data",
        "Postfix message_size_limit",
        PERMANENT,
    ),
    ReplyRule(
        Kind.RECIPIENT_UNKNOWN,
        r"^550 invalid recipient",
        "The recipient {recipient} does not exist{said}; check the address.",
        "550 Invalid recipient: <bob@example.org>",
        "rcpt",
        "OpenSMTPD (lka_session.c): the same words when no rule lets it relay",
        PERMANENT,
        _at("rcpt"),
        maybe_relay=True,
    ),
    ReplyRule(
        Kind.RECIPIENT_UNKNOWN,
        r"5\.1\.1|user unknown|no such user|unknown user|mailbox unavailable|does not exist|"
        r"recipient address rejected: user|invalid recipient|mailbox not found",
        "The recipient {recipient} does not exist{said}; check the address.",
        "550 5.1.1 <bob@example.org>: Recipient address rejected: User unknown in local "
        "recipient table",
        "rcpt",
        "Postfix",
        PERMANENT,
        _at("rcpt"),
    ),
)


class LocalRule(NamedTuple):
    """A failure without a reply (connection, TLS, the profile): `error` as the session
    reports it, optionally only at `stage`."""

    error: str
    kind: Kind
    sentence: str
    stage: str | None = None


CERT_REASONS = {
    Kind.CERT_EXPIRED: "has expired",
    Kind.CERT_HOSTNAME: "is not valid for the name {hostname}",
    Kind.CERT_UNTRUSTED: "is not signed by an authority this machine trusts",
    Kind.CERT_SELF_SIGNED: "is self-signed",
    Kind.CERT_UNVERIFIED: "could not be verified",
}
_CERT = (
    "The certificate of {host} {cert_reason}{detail}; nothing was sent. Add ca_file or "
    "tls_fingerprint to the profile only if you trust this server."
)

LOCAL_RULES: tuple[LocalRule, ...] = (
    LocalRule(
        "plaintext-auth",
        Kind.PLAINTEXT_AUTH,
        "Profile {profile_id} would send its password without encryption; set security = "
        '"starttls" or "tls" in {file}.',
    ),
    LocalRule("auth-method", Kind.AUTH_METHOD, "{detail}"),
    LocalRule("no-password", Kind.NO_PASSWORD, "{detail}"),
    # OAuth2 (tui/core/oauth/tokens.py words the detail: what happened and what to do)
    LocalRule("sign-in", Kind.SIGN_IN, "Not sent: {detail}"),
    LocalRule("token-command", Kind.TOKEN_COMMAND, "Not sent: {detail}"),
    LocalRule("token-server", Kind.TOKEN_SERVER, "Not sent for now: {detail}"),
    LocalRule(
        "token-rejected",
        Kind.TOKEN_REJECTED,
        "The server {hostname} refused the access token for {user}{said}, a fresh one too: "
        "sign in again (mailtui login {profile_id}, or your token helper's own sign-in), and "
        "check that the account may send by SMTP with OAuth2 (the scope, SMTP AUTH allowed "
        "for the mailbox).",
    ),
    LocalRule("input", Kind.INPUT, "Not sent: {detail}."),
    LocalRule("config", Kind.CONFIG, "{detail}"),
    LocalRule(
        "expects-tls",
        Kind.IMPLICIT_TLS_PORT,
        "The server at {host} expects TLS from the first byte (implicit TLS, as on port 465), "
        'but profile {profile_id} has security = "{security}", so mailtui waited for a '
        'greeting that never comes: set security = "tls" in {file} (or use the server\'s '
        "STARTTLS port, usually 587); nothing was sent.",
    ),
    LocalRule(
        "expects-plain",
        Kind.PLAIN_PORT,
        "The server at {host} greets in plain text (STARTTLS comes later, as on ports 25 and "
        '587), but profile {profile_id} has security = "tls", which expects TLS from the '
        'first byte: set security = "starttls" in {file} ("none" only for a server that '
        "offers no encryption, without a login), or use the server's implicit-TLS port, "
        "usually 465; nothing was sent.",
    ),
    LocalRule(
        "too-large",
        Kind.TOO_LARGE,
        "Not sent: {detail}. Make the attachments smaller, or send it with a profile whose "
        "server accepts more.",
    ),
    LocalRule(
        "refused",
        Kind.CONNECTION_REFUSED,
        "Nothing answered at {host}: the connection was refused, so the server is down or this "
        "network blocks that port.",
    ),
    LocalRule(
        "timeout",
        Kind.CONNECTION_TIMEOUT,
        "Connecting to {host} timed out: this network may block the port, or the server is "
        "unreachable from here.",
        "connect",
    ),
    LocalRule(
        "unreachable",
        Kind.UNREACHABLE,
        "{hostname} cannot be reached from this network ({detail}).",
    ),
    LocalRule(
        "no-greeting",
        Kind.NO_GREETING,
        "The server at {host} accepted the connection but never greeted within {timeout} "
        'seconds; if this port expects TLS from the start (usually 465), set security = "tls", '
        "otherwise try again later.",
    ),
    LocalRule(
        "timeout",
        Kind.TIMEOUT,
        "The server at {host} stopped answering during {stage} and the profile's "
        "{timeout}-second timeout ran out; try again later.",
    ),
    LocalRule(
        "unknown-outcome",
        Kind.UNKNOWN_OUTCOME,
        "The whole message had been sent, but the server's confirmation never came (the "
        "connection broke or the send was stopped), so it may or may not have been delivered; "
        "check with the recipient before sending again.",
    ),
    LocalRule(
        "early-reply",
        Kind.EARLY_REPLY,
        "The server at {host} answered {code} before the end of the message, so it did not "
        "receive it whole and it does not count as sent; this server misbehaves, so try again "
        "later or send with another profile.",
    ),
    LocalRule(
        "local-io",
        Kind.LOCAL_IO,
        "Not sent: mailtui could not record the send on disk ({detail}), so it stopped before "
        "the end of the message; free some space and try again.",
    ),
    LocalRule(
        "disconnected",
        Kind.DISCONNECTED,
        "The server at {host} closed the connection during {stage}; try again later.",
    ),
    LocalRule(
        "starttls-missing",
        Kind.STARTTLS_MISSING,
        "The server at {host} did not offer STARTTLS, which this profile requires; someone may "
        "be stripping encryption on this network, so nothing was sent.",
    ),
    LocalRule(
        "starttls-injection",
        Kind.STARTTLS_INJECTION,
        "Data was injected into the connection to {host} right before encryption started, a "
        "sign of an attack on this network; nothing was sent.",
    ),
    LocalRule(
        "pin-mismatch",
        Kind.PIN_MISMATCH,
        "The certificate of {host} does not match the fingerprint pinned in profile "
        "{profile_id} ({detail}); nothing was sent. If the server changed its certificate, "
        "update tls_fingerprint.",
    ),
    LocalRule("cert-expired", Kind.CERT_EXPIRED, _CERT),
    LocalRule("cert-hostname", Kind.CERT_HOSTNAME, _CERT),
    LocalRule("cert-untrusted", Kind.CERT_UNTRUSTED, _CERT),
    LocalRule("cert-self-signed", Kind.CERT_SELF_SIGNED, _CERT),
    LocalRule("cert-unverified", Kind.CERT_UNVERIFIED, _CERT),
    LocalRule(
        "tls",
        Kind.TLS_FAILED,
        "Encryption with {host} could not be set up ({detail}){tls_hint}; nothing was sent.",
    ),
    LocalRule(
        "protocol",
        Kind.PROTOCOL,
        "The server at {host} sent a reply mailtui cannot read ({detail}).",
    ),
    LocalRule("not-tried", Kind.NOT_TRIED, "Not tried: the connection ended before its turn."),
    LocalRule("cancelled", Kind.CANCELLED, "Cancelled; the message was not sent."),
)

# A reply that no rule knows: plainly refused, in the server's own words.
REFUSED_SENTENCE = "The server refused {what}{said}."
# Not worded as relaying, but a 5xx at RCPT for a foreign domain from a profile that does not
# log in, where it is not trusted: most likely relaying all the same.
RELAY_PROBABLY_SENTENCE = (
    "The server {hostname} refused the recipient{said}; this is probably a refusal to relay: "
    "{why}, and the recipient's domain is not the server's own."
)
PORT_BLOCKED_SENTENCE = (
    "This network blocks port {port} to {hostname} (access providers often stop home "
    "connections from sending mail directly), but port {open_port} answers: set port = "
    '{open_port} and security = "{open_security}" in {file}, with a login, or use a profile '
    "that sends there."
)


# -- providers that want an app password -------------------------------------------------------


class AppPasswordProvider(NamedTuple):
    """A provider whose SMTP login takes an app password, not the account's own password:
    told apart by the profile's host or by the name its server greets with."""

    name: str
    domains: tuple[str, ...]  # its SMTP servers' host names end in one of these
    how: str  # where and how an app password is made, for the sentence
    source: str


APP_PASSWORD_PROVIDERS: tuple[AppPasswordProvider, ...] = (
    AppPasswordProvider(
        "Gmail",
        ("gmail.com", "googlemail.com", "google.com"),
        "turn on 2-Step Verification, then create one at https://myaccount.google.com/"
        'apppasswords (or sign in with OAuth2: auth = "xoauth2")',
        "support.google.com/accounts/answer/185833",
    ),
    AppPasswordProvider(
        "Yahoo Mail",
        ("yahoo.com", "yahoodns.net"),
        "create one under Account security at https://login.yahoo.com/account/security "
        "(Generate app password)",
        "help.yahoo.com, 'Generate and manage third-party app passwords'",
    ),
    AppPasswordProvider(
        "AOL Mail",
        ("aol.com",),
        "create one under Account security at https://login.aol.com/account/security "
        "(Generate app password)",
        "help.aol.com, 'Create and manage app password'",
    ),
    AppPasswordProvider(
        "iCloud Mail",
        ("me.com", "icloud.com"),
        "create an app-specific password at https://account.apple.com (Sign-In and "
        "Security, App-Specific Passwords); two-factor authentication must be on",
        "support.apple.com/102654",
    ),
    AppPasswordProvider(
        "Fastmail",
        ("fastmail.com", "messagingengine.com"),
        "create an app password at https://app.fastmail.com/settings/security/apps "
        "(Settings, Privacy & Security, Manage app passwords and access), with SMTP access",
        "fastmail.help, 'App passwords'",
    ),
)

APP_PASSWORD_SENTENCE = (
    "{provider} needs an app password, not your account password{said}: {how}, and use it "
    "as the password of profile {profile_id}."
)


def app_password_provider(host: str, greeting: str = "") -> AppPasswordProvider | None:
    """The provider behind `host` (a profile's SMTP host), or behind the name the server
    greets with (the first word of its 220 text), when it wants app passwords."""
    names = [host.lower().rstrip(".")]
    first = greeting.split(None, 1)[0].lower().rstrip(".") if greeting.strip() else ""
    if first:
        names.append(first)
    for provider in APP_PASSWORD_PROVIDERS:
        for name in names:
            if any(name == d or name.endswith("." + d) for d in provider.domains):
                return provider
    return None
