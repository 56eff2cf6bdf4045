"""Discovery end to end on loopback: a DNS server answering SRV, MX and A, autoconfig over
HTTPS (trustme) and plain HTTP, and aiosmtpd servers as the candidates: one with implicit
TLS, one that offers AUTH only after STARTTLS, one plain relay. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from tests.conftest import USERS, DnsStarter, Pki
from tests.web_server import Page, WebServer, config_xml
from tui.core.discovery.finder import AddressError, Discovery, discover, split_address
from tui.core.discovery.reach import Reach
from tui.demo.servers import ServerSpec, ServerThread

NAMES = (
    "localhost",
    "127.0.0.1",
    "example.org",
    "*.example.org",
    "example.net",
    "*.example.net",
    "example.info",
    "*.example.info",
    "evil.example",
    "*.evil.example",
    "autoconfig.thunderbird.net",
    "smtp.gmail.com",
)
AUTOCONFIG = "/mail/config-v1.1.xml"


@pytest.fixture(scope="module")
def names_context(pki: Pki) -> ssl.SSLContext:
    """A server certificate for every name these tests use, from the tests' CA."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    pki.ca.issue_cert(*NAMES).configure_cert(context)
    return context


@dataclass
class World:
    """The loopback internet of one test: what DNS answers, what the web serves, and the
    three SMTP servers standing behind ports 465, 587 and 25."""

    answers: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    pages: dict[tuple[str, str], Page] = field(default_factory=dict)
    plain_pages: dict[tuple[str, str], Page] = field(default_factory=dict)
    closed: set[int] = field(default_factory=set)  # standard ports where nothing listens

    def host(self, *names: str, address: str = "127.0.0.1") -> None:
        for name in names:
            self.answers[(name, "A")] = [address]


@pytest.fixture
def world() -> World:
    return World()


Run = Callable[..., Discovery]


@pytest.fixture
def run(
    world: World, dns_server: DnsStarter, names_context: ssl.SSLContext, pki: Pki
) -> Iterator[Run]:
    """Runs discovery for an address in `world` (built when called)."""
    import asyncio

    import dns.asyncresolver

    started: list[WebServer] = []
    with ServerThread() as servers:

        def go(address: str, steps: list[str] | None = None) -> Discovery:
            nameserver = dns_server(answers=world.answers)
            web = WebServer(world.pages, names_context)
            plain = WebServer(world.plain_pages)
            started.extend((web, plain))
            smtps = servers.start(
                ServerSpec("smtps", "tls", names_context, users=dict(USERS), auth_required=True)
            )
            submission = servers.start(
                ServerSpec(
                    "submission",
                    "starttls",
                    names_context,
                    require_starttls=True,
                    users=dict(USERS),
                    auth_required=True,
                )
            )
            relay = servers.start(ServerSpec("relay"))
            gone = servers.start(ServerSpec("gone"))
            servers.stop(gone)
            ports = {443: web.port, 80: plain.port, 465: smtps.port, 587: submission.port}
            ports[25] = relay.port
            ports.update({p: gone.port for p in world.closed})
            resolver = dns.asyncresolver.Resolver(configure=False)
            resolver.nameservers = ["127.0.0.1"]
            resolver.port = nameserver.port
            reach = Reach(resolver, ports, str(pki.ca_file), timeout=2.0, only_loopback=True)
            go.web = web  # type: ignore[attr-defined]
            go.plain = plain  # type: ignore[attr-defined]
            kept = steps if steps is not None else []
            return asyncio.run(discover(address, reach, kept.append))

        yield go
        for server in started:
            server.close()


def test_an_address_is_needed() -> None:
    assert split_address(" Jane@Example.ORG ") == ("Jane@Example.ORG", "example.org")
    with pytest.raises(AddressError, match="is not an email address; give one such as"):
        split_address("example.org")


def test_the_provider_table_comes_first(world: World, run: Run) -> None:
    world.host("smtp.gmail.com")
    found = run("jane@gmail.com")
    assert found.candidate is not None and found.candidate.source == "table"
    assert found.probe is not None and found.probe.works and found.probe.tls
    assert (found.candidate.host, found.candidate.port, found.security) == (
        "smtp.gmail.com",
        465,
        "tls",
    )
    assert found.login == "app-password" and found.question is None
    assert run.web.asked == []  # type: ignore[attr-defined]
    where = {setting: origin for setting, _value, origin in found.provenance()}
    assert where["server"] == "from the provider table (Gmail), and tested"
    assert where["imap"] == "from the provider table (Gmail)"
    profile = found.profile("gmail")
    assert (profile.provider, profile.auth, profile.username) == (
        "portal",
        "auto",
        "jane@gmail.com",
    )
    assert profile.port is None and profile.imap is not None
    assert profile.imap.host == "imap.gmail.com"


def test_autoconfig_over_https(world: World, run: Run) -> None:
    xml = config_xml(
        [("smtp.example.org", 587, "STARTTLS"), ("smtp.example.org", 465, "SSL")],
        imap=("imap.example.org", 993, "SSL"),
        username="%EMAILLOCALPART%",
    )
    world.pages[("autoconfig.example.org", AUTOCONFIG)] = (200, {}, xml)
    world.host("autoconfig.example.org", "smtp.example.org")
    found = run("jane@example.org")
    assert found.candidate is not None and found.probe is not None
    # Both answer: implicit TLS is preferred to STARTTLS.
    assert (found.candidate.port, found.security) == (465, "tls")
    assert found.candidate.origin == "from autoconfig.example.org over HTTPS"
    assert found.username == "jane" and found.question is None
    assert found.imap is not None and found.imap.host == "imap.example.org"
    assert run.web.asked == [  # type: ignore[attr-defined]
        ("autoconfig.example.org", AUTOCONFIG + "?emailaddress=jane@example.org")
    ]


def test_malformed_autoconfig_is_passed_over(world: World, run: Run) -> None:
    world.pages[("autoconfig.example.org", AUTOCONFIG)] = (200, {}, b"<clientConfig><oops>")
    world.host("autoconfig.example.org", "smtp.example.org")
    found = run("jane@example.org")
    assert any("not well-formed XML; not used" in note for note in found.notes)
    assert found.candidate is not None and found.candidate.source == "guess"


def test_a_billion_laughs_is_refused_not_expanded(world: World, run: Run) -> None:
    entities = "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    )
    lol = (
        f'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">{entities}]>'
        "<clientConfig>&lol9;</clientConfig>"
    ).encode()
    world.pages[("autoconfig.example.org", AUTOCONFIG)] = (200, {}, lol)
    world.host("autoconfig.example.org")
    start = time.monotonic()
    found = run("jane@example.org")
    assert any("declares entities or a DTD" in note for note in found.notes)
    assert time.monotonic() - start < 20


def test_a_redirect_to_another_domain_is_asked_about(world: World, run: Run) -> None:
    world.pages[("autoconfig.example.org", AUTOCONFIG)] = (
        302,
        {"Location": "https://evil.example/config.xml"},
        b"",
    )
    world.pages[("evil.example", "/config.xml")] = (
        200,
        {},
        config_xml([("smtp.evil.example", 465, "SSL")]),
    )
    world.host("autoconfig.example.org", "evil.example", "smtp.evil.example")
    found = run("jane@example.org")
    assert found.candidate is not None and found.candidate.host == "smtp.evil.example"
    assert not found.candidate.trusted
    assert found.question == (
        "The server smtp.evil.example:465 is not in example.org (it came from evil.example "
        "over HTTPS (autoconfig.example.org redirected there)): send your mail and password "
        "there?"
    )


def test_plain_http_autoconfig_is_never_trusted_silently(world: World, run: Run) -> None:
    world.plain_pages[("autoconfig.example.org", AUTOCONFIG)] = (
        200,
        {},
        config_xml([("smtp.example.org", 465, "SSL")]),
    )
    world.host("autoconfig.example.org", "smtp.example.org")
    found = run("jane@example.org")
    assert found.candidate is not None and found.candidate.source == "autoconfig"
    assert found.question is not None
    assert found.question.startswith(
        "The settings for example.org came from autoconfig.example.org over plain HTTP, "
        "which anyone on the network could have changed"
    )


def test_a_redirect_from_https_to_plain_http_is_refused(world: World, run: Run) -> None:
    world.pages[("autoconfig.example.org", AUTOCONFIG)] = (
        301,
        {"Location": f"http://autoconfig.example.org{AUTOCONFIG}"},
        b"",
    )
    world.plain_pages[("autoconfig.example.org", AUTOCONFIG)] = (
        200,
        {},
        config_xml([("smtp.example.org", 465, "SSL")]),
    )
    world.host("autoconfig.example.org", "smtp.example.org")
    found = run("jane@example.org")
    assert (
        "autoconfig from autoconfig.example.org: autoconfig.example.org redirected to plain HTTP"
        in found.notes
    )
    assert found.candidate is not None and not found.candidate.trusted
    assert found.question is not None and "over plain HTTP" in found.question


def test_srv_records_prefer_implicit_tls(world: World, run: Run) -> None:
    world.answers[("_submission._tcp.example.net", "SRV")] = ["0 1 587 mail.example.net."]
    world.answers[("_submissions._tcp.example.net", "SRV")] = ["0 1 465 mail.example.net."]
    world.host("mail.example.net")
    found = run("jane@example.net")
    assert found.candidate is not None and found.probe is not None
    assert (found.candidate.port, found.security) == (465, "tls")
    assert found.candidate.origin == "from the SRV record _submissions._tcp.example.net"
    assert found.question is None


def test_auth_offered_only_after_starttls_is_seen(world: World, run: Run) -> None:
    world.answers[("_submission._tcp.example.net", "SRV")] = ["0 1 587 mail.example.net."]
    world.host("mail.example.net")
    found = run("jane@example.net")
    assert found.probe is not None and found.probe.works
    assert found.security == "starttls" and "PLAIN" in found.probe.auth
    assert found.login == "password"


def test_mx_finds_a_hosted_domain(world: World, run: Run) -> None:
    world.answers[("example.net", "MX")] = ["10 aspmx.l.google.com."]
    world.host("smtp.gmail.com")
    found = run("jane@example.net")
    assert found.candidate is not None and found.candidate.source == "table"
    assert found.candidate.origin == (
        "from the provider table (Google Workspace, the MX aspmx.l.google.com)"
    )
    assert found.candidate.host == "smtp.gmail.com"


def test_guesses_are_tested(world: World, run: Run) -> None:
    world.host("smtp.example.info")
    world.closed = {465}
    steps: list[str] = []
    found = run("jane@example.info", steps)
    assert found.candidate is not None and found.candidate.source == "guess"
    assert (found.candidate.host, found.candidate.port, found.security) == (
        "smtp.example.info",
        587,
        "starttls",
    )
    where = {setting: origin for setting, _value, origin in found.provenance()}
    assert where["server"] == "guessed and tested"
    assert where["auth"].startswith("the server offers AUTH ") and "PLAIN" in where["auth"]
    assert "looking up the SRV records of example.info" in steps


def test_a_plain_relay_is_an_isp_profile(world: World, run: Run) -> None:
    world.host("smtp.example.info")
    world.closed = {465, 587}
    found = run("jane@example.info")
    assert found.security == "none" and found.login == "none"
    profile = found.profile("isp")
    assert (profile.provider, profile.auth, profile.port, profile.username) == (
        "isp",
        "none",
        None,
        None,
    )


def test_nothing_found(world: World, run: Run) -> None:
    found = run("jane@example.info")
    assert found.candidate is None
    assert found.problem == (
        "No settings were found for example.info, and no server answered; fill them in from "
        "your provider's help pages."
    )


def test_nothing_answers_keeps_what_was_found(world: World, run: Run) -> None:
    world.closed = {465, 587, 25}
    world.host("smtp.gmail.com")
    found = run("jane@gmail.com")
    assert found.candidate is not None and found.probe is None
    assert found.problem is not None and "untested" in found.problem


def test_only_loopback_is_reached_while_testing(world: World, run: Run) -> None:
    world.host("smtp.example.info", address="192.0.2.25")
    found = run("jane@example.info")
    assert found.candidate is None
    assert any(
        p.problem and "not on loopback (refused while testing)" in p.problem for p in found.tried
    )
