"""`mailtui profiles new ADDRESS` as a user runs it, without a terminal (as scripts do), on
a DNS server, an autoconfig web server and SMTP servers on loopback."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import CliResult, DnsStarter, LeakGuard, Pki, run_cli
from tests.web_server import WebServer, config_xml
from tui.demo.servers import RunningServer

AUTOCONFIG = ("autoconfig.example.org", "/mail/config-v1.1.xml")

Run = Callable[..., CliResult]


@pytest.fixture
def web(pki: Pki) -> Iterator[WebServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    pki.ca.issue_cert("autoconfig.example.org", "example.org").configure_cert(context)
    server = WebServer({}, context)
    yield server
    server.close()


@pytest.fixture
def run(home: Path, dns_server: DnsStarter, web: WebServer, pki: Pki, leak_guard: LeakGuard) -> Run:
    dns = dns_server(answers={("autoconfig.example.org", "A"): ["127.0.0.1"]})

    def go(*args: str) -> CliResult:
        env = {
            "MAILTUI_DNS": dns.address,
            "MAILTUI_DISCOVERY_PORTS": f"443={web.port},465=9,587=9,25=9,80=9",
            "SSL_CERT_FILE": str(pki.ca_file),
        }
        return run_cli(leak_guard, "profiles", "new", *args, stdin="", env=env)

    return go


def serve(web: WebServer, server: RunningServer, kind: str, authentication: str) -> None:
    xml = config_xml([("localhost", server.port, kind)], authentication=authentication)
    web.pages[AUTOCONFIG] = (200, {}, xml)


def test_a_portal_is_written_and_the_password_left_for_later(
    run: Run, web: WebServer, portal_server: RunningServer, home: Path
) -> None:
    serve(web, portal_server, "STARTTLS", "password-cleartext")
    result = run("jane@example.org", "--yes")
    assert result.code == 0, result.err
    assert "  server    localhost:" in result.out
    assert "from autoconfig.example.org over HTTPS, and tested" in result.out
    assert "No terminal to ask for the password on" in result.out
    written = (home / "profiles" / "example.toml").read_text()
    assert f'host = "localhost"\nport = {portal_server.port}\nsecurity = "starttls"' in written
    assert 'provider = "portal"' in written and 'username = "jane@example.org"' in written


def test_another_domain_is_not_saved_unasked(
    run: Run, web: WebServer, portal_server: RunningServer, home: Path
) -> None:
    serve(web, portal_server, "STARTTLS", "password-cleartext")
    result = run("jane@example.org")
    assert result.code == 78
    assert "is not in example.org" in result.err
    assert "Not saved: answer on a terminal, or add --yes." in result.err
    assert not (home / "profiles" / "example.toml").exists()


def test_a_relay_by_network_is_checked_at_once(
    run: Run, web: WebServer, isp_server: RunningServer, home: Path
) -> None:
    serve(web, isp_server, "plain", "client-IP-address")
    result = run("jane@example.org", "--yes", "--id", "home")
    assert result.code == 0, result.out + result.err
    assert "Checking profile home…" in result.out
    assert "Verdict:  will work" in result.out
    written = (home / "profiles" / "home.toml").read_text()
    assert 'provider = "isp"' in written and 'auth = "none"' in written


def test_nothing_found(run: Run) -> None:
    result = run("jane@example.org")
    assert result.code == 75
    assert "No settings were found for example.org, and no server answered" in result.err


def test_no_address(run: Run) -> None:
    result = run("example.org")
    assert result.code == 64
    assert "'example.org' is not an email address" in result.err


def test_an_id_that_is_taken(run: Run, home: Path) -> None:
    (home / "profiles").mkdir(mode=0o700, exist_ok=True)
    (home / "profiles" / "home.toml").write_text('name = "x"\n')
    result = run("jane@example.org", "--id", "home")
    assert result.code == 78
    assert "there is a profile home already; choose another --id" in result.err


def test_offline_keeps_the_table_settings_and_points_to_oauth2_sign_in(
    run: Run, home: Path
) -> None:
    result = run("jane@outlook.com")
    assert result.code == 0, result.err
    assert "from the provider table (Outlook.com)" in result.out
    assert "but no server answered, so they are untested" in result.err
    assert "Outlook.com signs in with OAuth2: register your own client id" in result.out
    assert "then run: mailtui login outlook" in result.out
    written = (home / "profiles" / "outlook.toml").read_text()
    assert 'host = "smtp-mail.outlook.com"' in written and 'auth = "xoauth2"' in written
