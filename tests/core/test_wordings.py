"""Every row of the wordings table, spoken by a scripted server on loopback: the kind it is
given, the exit code that kind carries, and an explanation that quotes the server once, on
one line, with the next step."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Pki, isp_profile, portal_profile
from tests.scripted_server import dialogue, start_scripted
from tui.core import sending
from tui.core.diagnosis import Context, diagnose, one_sentence
from tui.core.kinds import KINDS, Kind
from tui.core.message import Draft
from tui.core.profiles import Profile, load_profile, load_profiles
from tui.core.results import Failure
from tui.core.wordings import REPLY_RULES, ReplyRule
from tui.demo.servers import ServerSpec, ServerThread

DRAFT = Draft(to=("bob@example.org",), subject="Hello", body="Hi")
KEYS = {"mail": "MAIL", "rcpt": "RCPT", "data": "DATA_END", "auth": "AUTH", "starttls": "STARTTLS"}


def _row_id(rule: ReplyRule) -> str:
    return f"{rule.kind.value}:{rule.example[:40]}"


@pytest.mark.parametrize("rule", REPLY_RULES, ids=[_row_id(r) for r in REPLY_RULES])
async def test_every_row_explains_its_example(
    home: Path, servers: ServerThread, pki: Pki, rule: ReplyRule
) -> None:
    logs_in = rule.stage in ("auth", "starttls")
    if rule.stage == "greeting":
        behaviour = dialogue(greeting=rule.example.replace("\n", "\r\n" + rule.example[:3] + "-"))
    else:
        context = pki.server_context if logs_in else None
        behaviour = dialogue({KEYS[rule.stage]: rule.example}, tls_context=context)
    server = start_scripted(servers, behaviour)
    if logs_in:
        portal_profile(home, server, pki)  # type: ignore[arg-type]
        profile_id = "portal"
    else:
        isp_profile(home, server)  # type: ignore[arg-type]
        profile_id = "isp"
    other = servers.start(ServerSpec("other", security="starttls", tls_context=pki.server_context))
    portal_profile(home, other, pki, profile_id="webmail", **{"from": "jane@portal.example"})
    found = load_profiles()
    profile = found.get(profile_id)
    assert profile is not None
    result = await sending.send(profile, DRAFT, profiles=found.profiles, probe=())
    assert result.diagnosis is not None, result.summary
    # Words that also mean relaying, for a foreign recipient from a profile without a login:
    expected = Kind.RELAY_PROBABLY if rule.maybe_relay else rule.kind
    assert result.diagnosis.kind == expected, result.summary
    assert result.exit_code == KINDS[expected].exit_code
    code = rule.example[:3]
    text = "\n".join(line[4:] for line in rule.example.split("\n"))
    said = f'(it said "{code} {one_sentence(text)}")'
    assert said in result.summary, result.summary  # the server's words, on one line
    assert result.summary.count("(it said") == 1, result.summary  # quoted once
    assert ("Retry with" in result.summary) == (
        KINDS[expected].suggest_other and result.diagnosis.retry_profile is not None
    )


def test_a_multi_line_reply_reads_as_one_sentence() -> None:
    gmail = (
        "5.7.8 Username and Password not accepted. For more information, go to\n"
        "5.7.8  https://support.google.com/mail/?p=BadCredentials d2-20020a17\n"
    )
    assert one_sentence(gmail) == (
        "5.7.8 Username and Password not accepted. For more information, go to "
        "https://support.google.com/mail/?p=BadCredentials d2-20020a17"
    )
    assert one_sentence("boom\x1b[31m\nred") == "boom\\x1b[31m red"


def _isp(home: Path, **extra: object) -> Profile:
    where = type("Where", (), {"host": "smtp.isp.example", "port": 25})
    return load_profile(isp_profile(home, where, **extra))  # type: ignore[arg-type]


def _portal(home: Path, profile_id: str, host: str, port: int, sender: str) -> Profile:
    from tests.conftest import write_profile

    path = write_profile(
        home,
        profile_id,
        name=profile_id.title(),
        **{"from": sender},
        host=host,
        port=port,
        security="starttls" if port != 465 else "tls",
        auth="plain",
        username="jane",
        password="x",
    )
    return load_profile(path)


def test_an_unworded_5xx_at_rcpt_is_probably_relaying_when_untrusted_here(home: Path) -> None:
    profile = _isp(home, networks=["192.0.2.0/24"])
    haraka = Failure("rcpt", code=550, text="I cannot deliver mail for <bob@example.org>")
    odd = Failure("rcpt", code=550, text="Go away", recipient="bob@example.org")
    assert diagnose(haraka, Context(profile)).kind == Kind.RELAY_DENIED  # worded: a row
    plain = diagnose(odd, Context(profile))
    assert plain.kind == Kind.RELAY_PROBABLY and "probably a refusal to relay" in (
        plain.explanation
    )
    outside = diagnose(odd, Context(profile, outside=True))
    assert outside.kind == Kind.RELAY_PROBABLY and "outside the networks it lists" in (
        outside.explanation
    )
    elsewhere = diagnose(odd, Context(profile, worked_elsewhere=True))
    assert elsewhere.kind == Kind.RELAY_PROBABLY and "worked on another network" in (
        elsewhere.explanation
    )
    logs_in = _portal(home, "portal", "smtp.portal.example", 587, "jane@portal.example")
    assert diagnose(odd, Context(logs_in)).kind == Kind.REFUSED  # it logs in: no guess
    own = Failure("rcpt", code=550, text="Go away", recipient="someone@isp.example")
    assert diagnose(own, Context(profile, outside=True)).kind == Kind.REFUSED  # its own domain


def test_port_25_blocked_while_submission_answers_names_the_port(home: Path) -> None:
    profile = _isp(home)
    failure = Failure("connect", error="timeout")
    diagnosis = diagnose(failure, Context(profile, probe={25: False, 465: False, 587: True}))
    assert diagnosis.kind == Kind.PORT_BLOCKED
    assert "port = 587" in diagnosis.explanation and 'security = "starttls"' in (
        diagnosis.explanation
    )
    assert diagnose(failure, Context(profile, probe={25: False, 465: False, 587: False})).kind == (
        Kind.CONNECTION_TIMEOUT
    )


def test_the_profile_to_use_instead_prefers_the_same_server_then_the_same_from(
    home: Path,
) -> None:
    from tui.core.diagnosis import suggest_profile

    isp = _isp(home)
    same_server = _portal(home, "isp-submission", "smtp.isp.example", 587, "jane@isp.example")
    same_from = _portal(home, "other-login", "mail.elsewhere.example", 587, "jane@isp.example")
    portal = _portal(home, "portal", "smtp.portal.example", 587, "jane@portal.example")
    everyone = [isp, portal, same_from, same_server]
    assert suggest_profile(isp, everyone) == same_server
    assert suggest_profile(isp, [isp, portal, same_from]) == same_from
    assert suggest_profile(isp, [isp, portal]) == portal
    failed_here = {"portal": -1.0}
    assert suggest_profile(isp, [isp, portal], lambda p: failed_here.get(p.id, 0.0)) is None
    relay = Failure("rcpt", code=554, text="5.7.1 <bob@example.org>: Relay access denied")
    said = diagnose(relay, Context(isp, [isp, portal])).explanation
    assert "Retry with Portal (profile portal), which logs in; it sends as jane@portal.example" in (
        said
    )


def test_every_kind_has_its_row_in_the_table() -> None:
    assert set(KINDS) == set(Kind)


# Wordings as the providers and MTAs send them (tui/core/wordings.py names the sources),
# each with the kind it must get and words of the fix the person must read.
WORDINGS = [
    # (who, stage, reply, kind, words of the fix)
    (
        "Gmail",
        "auth",
        "534 5.7.9 Application-specific password required. For more "
        "information, go to\n534 5.7.9  https://support.google.com/mail/?p=InvalidSecondFactor "
        "5b1f17b1804b1 - gsmtp",
        Kind.APP_PASSWORD,
        "2-Step Verification",
    ),
    (
        "Gmail",
        "auth",
        "535 5.7.8 Username and Password not accepted. For more information, go "
        "to\n535 5.7.8  https://support.google.com/mail/?p=BadCredentials 5614622812f47 - gsmtp",
        Kind.BAD_CREDENTIALS,
        "app password",
    ),
    (
        "Gmail",
        "auth",
        "534 5.7.14 <https://accounts.google.com/signin/continue?sarp=1&scc=1>\n"
        "534 5.7.14 Please log in via your web browser and then try again.\n534 5.7.14  Learn "
        "more at\n534 5.7.14  https://support.google.com/mail/answer/78754 z19sm56 - gsmtp",
        Kind.WEB_LOGIN,
        "sign in there once",
    ),
    (
        "Gmail",
        "mail",
        "530 5.7.0 Must issue a STARTTLS command first. For more information, "
        "go to\n530 5.7.0  https://support.google.com/a/answer/3221692 and review RFC 3207\n530 "
        "5.7.0 specifications. ffacd0b85a97d - gsmtp",
        Kind.TLS_REQUIRED,
        'security = "starttls"',
    ),
    (
        "Gmail",
        "auth",
        "454 4.7.0 Too many login attempts, please try again later. ca2sm42 - gsmtp",
        Kind.TOO_MANY_LOGINS,
        "wait a while",
    ),
    (
        "Gmail",
        "mail",
        "550 5.4.5 Daily user sending limit exceeded. For more information on "
        "Gmail\n550 5.4.5 sending limits go to\n550 5.4.5  https://support.google.com/a/answer/"
        "166852 41be03b00d2f7 - gsmtp",
        Kind.SENDING_LIMIT,
        "limit resets",
    ),
    (
        "Gmail",
        "mail",
        "530 5.5.1 Authentication Required. For more information, go to",
        Kind.LOGIN_REQUIRED,
        "profile that logs in",
    ),
    (
        "Microsoft",
        "auth",
        "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is "
        "disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.",
        Kind.OAUTH_REQUIRED,
        "OAuth2",
    ),
    (
        "Microsoft",
        "auth",
        "535 5.7.139 Authentication unsuccessful, basic authentication is "
        "disabled. [AS4P251CA0014.EURP251.PROD.OUTLOOK.COM]",
        Kind.OAUTH_REQUIRED,
        "OAuth2",
    ),
    (
        "Microsoft",
        "auth",
        "535 5.7.3 Authentication unsuccessful [BN0PR04CA0137]",
        Kind.BAD_CREDENTIALS,
        "check them",
    ),
    (
        "Microsoft",
        "data",
        "550 5.7.60 SMTP; Client does not have permissions to send as this sender",
        Kind.SENDER_NOT_OWNED,
        "whose From is this address",
    ),
    (
        "Microsoft",
        "data",
        "554 5.2.252 SendAsDenied; jane@portal.example not allowed to send as jane@isp.example",
        Kind.SENDER_NOT_OWNED,
        "whose From is this address",
    ),
    (
        "Microsoft",
        "mail",
        "530 5.7.57 Client not authenticated to send mail.",
        Kind.LOGIN_REQUIRED,
        "profile that logs in",
    ),
    (
        "Yahoo/AOL",
        "auth",
        "535 5.7.0 (#AUTH005) Too many bad auth attempts.",
        Kind.LOCKED_OUT,
        "app password",
    ),
    (
        "Yahoo",
        "mail",
        "553 From address not verified - see http://help.yahoo.com/l/us/yahoo/"
        "mail/original/manage/sendfrom-07.html",
        Kind.SENDER_NOT_OWNED,
        "whose From",
    ),
    (
        "Postfix",
        "rcpt",
        "553 5.7.1 <jane@isp.example>: Sender address rejected: not owned by user jane",
        Kind.SENDER_NOT_OWNED,
        "whose From",
    ),
    (
        "Zoho",
        "mail",
        "553 Sender is not allowed to relay emails",
        Kind.SENDER_NOT_OWNED,
        "whose From",
    ),
    (
        "Spamhaus via Postfix",
        "rcpt",
        "554 5.7.1 Service unavailable; Client host [192.0.2.9] "
        "blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/192.0.2.9",
        Kind.BLOCKLISTED,
        "logs you in",
    ),
    (
        "Yahoo MX",
        "rcpt",
        "553 5.7.1 [BL21] Connections will not be accepted from 192.0.2.25, "
        "because the ip is in Spamhaus's list; see http://postmaster.yahoo.com/550-bl23.html",
        Kind.BLOCKLISTED,
        "logs you in",
    ),
    (
        "hMailServer",
        "rcpt",
        "530 SMTP authentication is required.",
        Kind.LOGIN_REQUIRED,
        "profile that logs in",
    ),
    ("Exim", "auth", "535 Incorrect authentication data", Kind.BAD_CREDENTIALS, "check them"),
    (
        "Sendmail",
        "rcpt",
        "550 5.7.1 <bob@example.org>... Relaying denied. IP name possibly forged [192.0.2.4]",
        Kind.RELAY_DENIED,
        "refused to relay",
    ),
    (
        "Sendmail",
        "rcpt",
        "450 4.4.0 <bob@example.org>... Relaying temporarily denied. Cannot "
        "resolve PTR record for 192.0.2.4",
        Kind.TEMPORARY,
        "try again later",
    ),
]


@pytest.mark.parametrize(
    ("who", "stage", "reply", "kind", "fix"),
    WORDINGS,
    ids=[f"{w[0]}:{w[3].value}:{w[2][:20]}" for w in WORDINGS],
)
async def test_providers_and_mtas_get_their_next_step(
    home: Path,
    servers: ServerThread,
    pki: Pki,
    who: str,
    stage: str,
    reply: str,
    kind: Kind,
    fix: str,
) -> None:
    logs_in = stage == "auth"
    behaviour = dialogue({KEYS[stage]: reply}, tls_context=pki.server_context if logs_in else None)
    server = start_scripted(servers, behaviour)
    if logs_in:
        profile = load_profile(portal_profile(home, server, pki))  # type: ignore[arg-type]
    else:
        profile = load_profile(isp_profile(home, server))  # type: ignore[arg-type]
    result = await sending.send(profile, DRAFT, probe=())
    assert result.diagnosis is not None and result.diagnosis.kind == kind, result.summary
    assert result.exit_code == KINDS[kind].exit_code
    assert fix in result.summary, result.summary
    assert result.summary.count("(it said") == 1 and "\\x0a" not in result.summary


async def test_openSMTPD_invalid_recipient_is_probably_relaying_when_untrusted(
    home: Path, servers: ServerThread
) -> None:
    server = start_scripted(servers, dialogue({"RCPT": "550 Invalid recipient: <bob@example.org>"}))
    profile = load_profile(isp_profile(home, server, networks=["192.0.2.0/24"]))  # type: ignore[arg-type]
    result = await sending.send(profile, DRAFT, probe=())
    assert result.diagnosis is not None and result.diagnosis.kind == Kind.RELAY_PROBABLY
    assert "probably a refusal to relay" in result.summary


def test_every_failure_the_session_reports_has_its_words(home: Path) -> None:
    """Each `error="…"` a core module can put in a Failure is explained by a row, never by
    the fallback for failures mailtui does not know."""
    import re

    from tests.conftest import REPO

    errors: set[str] = set()
    for path in (REPO / "tui" / "core").rglob("*.py"):
        errors |= set(re.findall(r'error="([a-z-]+)"', path.read_text(encoding="utf-8")))
    errors |= {"cert-expired", "cert-hostname", "cert-untrusted", "cert-self-signed", "tls"}
    errors.discard("early-refusal")  # a refusal with a code: the reply rows decide
    profile = _isp(home)
    for error in sorted(errors):
        for stage in ("connect", "greeting", "data"):
            said = diagnose(Failure(stage, error=error, detail="x"), Context(profile))
            assert "does not know" not in said.explanation, (error, stage)
    assert len(errors) > 20


# Each provider that wants an app password, as its server greets and refuses a wrong login.
APP_PASSWORD_CASES = [
    ("smtp.gmail.com ESMTP d2e1a72fcca58-7a1 - gsmtp",
     "535-5.7.8 Username and Password not accepted. For more information, go to\n"
     "535 5.7.8  https://support.google.com/mail/?p=BadCredentials d2e1a72fcca58-7a1 - gsmtp",
     "Gmail", "myaccount.google.com/apppasswords"),
    ("smtp.mail.yahoo.com ESMTP ready", "535 5.7.0 (#AUTH003) Authentication failed",
     "Yahoo Mail", "login.yahoo.com/account/security"),
    ("smtp.aol.com ESMTP ready", "535 5.7.0 (#AUTH003) Authentication failed",
     "AOL Mail", "login.aol.com/account/security"),
    ("smtp.mail.me.com ESMTP", "535 5.7.8 Authentication failed",
     "iCloud Mail", "account.apple.com"),
    ("smtp.fastmail.com ESMTP ready", "535 5.7.0 Incorrect username or password.",
     "Fastmail", "app.fastmail.com/settings/security/apps"),
    ("mx.example.net ESMTP Postfix", "535 5.7.8 Error: authentication failed: bad password",
     None, None),
]  # fmt: skip


@pytest.mark.parametrize(("greeting", "reply", "provider", "page"), APP_PASSWORD_CASES)
async def test_a_wrong_password_at_an_app_password_provider_says_so(
    home: Path,
    servers: ServerThread,
    pki: Pki,
    greeting: str,
    reply: str,
    provider: str | None,
    page: str | None,
) -> None:
    """Told apart by the name the server greets with (on loopback the profile's host is
    127.0.0.1); a server that is none of them keeps the plain wrong-password sentence."""
    server = start_scripted(
        servers,
        dialogue({"AUTH": reply}, greeting=f"220 {greeting}", tls_context=pki.server_context),
    )
    portal_profile(home, server, pki)  # type: ignore[arg-type]
    profile = load_profiles().get("portal")
    assert profile is not None
    result = await sending.send(profile, DRAFT, probe=())
    assert result.diagnosis is not None and result.exit_code == 77
    if provider is None:
        assert result.diagnosis.kind == Kind.BAD_CREDENTIALS, result.summary
        return
    assert result.diagnosis.kind == Kind.APP_PASSWORD, result.summary
    assert result.summary.startswith(
        f"{provider} needs an app password, not your account password (it said"
    ), result.summary
    assert page in result.summary and "profile portal" in result.summary


def test_the_profile_host_names_the_provider_too() -> None:
    from tui.core.wordings import app_password_provider

    found = app_password_provider("smtp.mail.me.com")
    assert found is not None and found.name == "iCloud Mail"
    assert app_password_provider("smtp.example.org") is None
    assert app_password_provider("notgmail.com") is None
