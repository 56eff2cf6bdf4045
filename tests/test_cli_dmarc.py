"""`mailtui send` and `check` warn, and still send, when the From domain's DMARC policy will
get mail through this server refused: real servers, a DNS server on loopback."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import (
    PASSWORD,
    DnsStarter,
    LeakGuard,
    Pki,
    isp_profile,
    portal_profile,
    run_cli,
)
from tui.demo.servers import RunningServer, ServerSpec, ServerThread

YAHOO = {"_dmarc.yahoo.com": ["v=DMARC1; p=reject; pct=100;"]}
SEND = ("send", "--to", "bob@example.org", "--subject", "Hi")
WARNING = (
    "mailtui: warning: yahoo.com publishes DMARC p=reject: mail From jane@yahoo.com sent "
    "through 127.0.0.1 (not Yahoo's server) will probably be rejected by the recipients' "
    "servers even though this server accepts it."
)


@pytest.fixture
def yahoo_server(servers: ServerThread, pki: Pki) -> RunningServer:
    """A submission server where jane@yahoo.com logs in, as at Yahoo."""
    return servers.start(
        ServerSpec(
            "yahoo",
            security="starttls",
            tls_context=pki.server_context,
            require_starttls=True,
            users={"jane@yahoo.com": PASSWORD},
            auth_required=True,
        )
    )


def yahoo_profiles(home: Path, isp: RunningServer, yahoo: RunningServer, pki: Pki) -> None:
    isp_profile(home, isp, **{"from": "Jane Doe <jane@yahoo.com>"})
    portal_profile(
        home, yahoo, pki, "yahoo", name="Yahoo", username="jane@yahoo.com",
        **{"from": "Jane Doe <jane@yahoo.com>"},
    )  # fmt: skip


def test_send_warns_for_a_yahoo_from_through_the_isp_and_still_sends(
    home: Path,
    plain_server: RunningServer,
    yahoo_server: RunningServer,
    pki: Pki,
    dns_server: DnsStarter,
    leak_guard: LeakGuard,
) -> None:
    yahoo_profiles(home, plain_server, yahoo_server, pki)
    dns = dns_server(YAHOO)
    result = run_cli(leak_guard, *SEND, "--profile", "isp")
    assert result.code == 0, result.err
    lines = result.err.splitlines()
    assert lines[0].startswith(WARNING)
    assert lines[0].endswith(
        "Send with Yahoo (profile yahoo), which logs in to yahoo.com, or use a From address "
        "of your ISP. Sending anyway."
    )
    assert "Sent to bob@example.org" in lines[1]
    assert len(plain_server.messages) == 1
    # The answer is kept: the next send asks no one.
    again = run_cli(leak_guard, *SEND, "--profile", "isp")
    assert again.code == 0 and again.err.startswith(WARNING)
    assert dns.queries == ["_dmarc.yahoo.com"]


def test_send_through_the_domains_own_server_is_not_warned(
    home: Path,
    plain_server: RunningServer,
    yahoo_server: RunningServer,
    pki: Pki,
    dns_server: DnsStarter,
    leak_guard: LeakGuard,
) -> None:
    yahoo_profiles(home, plain_server, yahoo_server, pki)
    dns_server(YAHOO)
    result = run_cli(leak_guard, *SEND, "--profile", "yahoo")
    assert result.code == 0, result.err
    assert "warning" not in result.err and "DMARC" not in result.err
    assert len(yahoo_server.messages) == 1


def test_check_prints_the_from_fit(
    home: Path,
    plain_server: RunningServer,
    yahoo_server: RunningServer,
    pki: Pki,
    dns_server: DnsStarter,
    leak_guard: LeakGuard,
) -> None:
    yahoo_profiles(home, plain_server, yahoo_server, pki)
    dns_server(YAHOO)
    isp = run_cli(leak_guard, "check", "isp")
    assert isp.code == 0, isp.err
    [line] = [x for x in isp.out.splitlines() if x.startswith("From:")]
    assert line.startswith("From:     warning: yahoo.com publishes DMARC p=reject:")
    assert "Send with Yahoo (profile yahoo)" in line
    yahoo = run_cli(leak_guard, "check", "yahoo")
    assert yahoo.code == 0, yahoo.err
    assert "From:     Jane Doe <jane@yahoo.com>\n" in yahoo.out
    assert "DMARC" not in yahoo.out + yahoo.err


def test_a_dns_server_that_never_answers_delays_the_send_by_the_timeout_at_most(
    home: Path, plain_server: RunningServer, dns_server: DnsStarter, leak_guard: LeakGuard
) -> None:
    isp_profile(home, plain_server, **{"from": "Jane Doe <jane@yahoo.com>"})
    dns = dns_server(silent=True)
    started = time.monotonic()
    result = run_cli(leak_guard, *SEND, "--profile", "isp")
    took = time.monotonic() - started
    assert result.code == 0, result.err
    assert "warning" not in result.err
    assert len(plain_server.messages) == 1
    assert dns.queries == ["_dmarc.yahoo.com"]  # it was asked, and not waited for long
    assert took < 1.5 + 2.0, took
