"""Where am I: network identity, remembered outcomes, trust warnings and suggestions."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Pki, isp_profile, portal_profile
from tui.core import network, sending
from tui.core.message import Draft
from tui.core.network import (
    Locator,
    NetworkIdentity,
    outside_networks,
    reported_client_address,
    subnet_of,
)
from tui.core.network_history import NetworkHistory, trust_warning
from tui.core.profiles import load_profiles
from tui.core.results import AttemptResult, ExitCode, Outcome
from tui.demo.servers import RunningServer

HOME = NetworkIdentity("192.168.1.7", "192.168.1.0/24", "192.168.1.1")
OFFICE = NetworkIdentity("10.20.0.5", "10.20.0.0/16", "10.20.0.1")


class MovableLocator(Locator):
    """A machine that a test can carry from one network to another."""

    def __init__(self, identity: NetworkIdentity) -> None:
        self.identity = identity

    def current(self) -> NetworkIdentity:
        return self.identity


def test_identity_of_this_machine_is_stable() -> None:
    locator = Locator()
    first, second = locator.current(), locator.current()
    assert first.key == second.key
    assert first.describe()


def test_identity_changes_when_subnet_or_gateway_does() -> None:
    assert HOME.key != OFFICE.key
    assert NetworkIdentity("192.168.1.8", "192.168.1.0/24", "192.168.1.1").key == HOME.key


def test_default_route_from_proc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    route = tmp_path / "route"
    route.write_text(
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
        "wlan0\t0001A8C0\t00000000\t0001\t0\t0\t600\t00FFFFFF\t0\t0\t0\n"
        "wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n"
    )
    monkeypatch.setattr(network, "PROC_ROUTE", route)
    assert network.default_route() == ("wlan0", "192.168.1.1")


def test_loopback_subnet_and_local_address() -> None:
    assert subnet_of("127.0.0.2") == "127.0.0.0/8"
    assert network.local_address_toward("127.0.0.1") == "127.0.0.1"


def test_literal_addresses_need_no_lookup() -> None:
    import socket

    [(family, _kind, _proto, _name, address)] = network.literal_address_infos(
        "127.0.0.2", 587, socket.SOCK_STREAM
    )
    assert (family, address) == (socket.AF_INET, ("127.0.0.2", 587))
    [(family, *_rest, address)] = network.literal_address_infos("::1", 25, socket.SOCK_STREAM)
    assert family == socket.AF_INET6 and address[:2] == ("::1", 25)
    # A name (ASCII or not) is left to the resolver.
    assert network.literal_address_infos("localhost", 25, socket.SOCK_STREAM) == []
    assert network.literal_address_infos("smtp.bücher.example", 25, socket.SOCK_STREAM) == []


def test_reported_address_from_greeting_or_ehlo() -> None:
    assert reported_client_address("mx.example.net Hello laptop [203.0.113.9]") == "203.0.113.9"
    assert reported_client_address("smtp.gmail.com at your service, [2001:db8::7]") == "2001:db8::7"
    assert reported_client_address("mx.example.net ESMTP Postfix") is None


def test_outside_networks(home: Path, plain_server: RunningServer) -> None:
    profile = load_profiles().get("x")
    assert profile is None
    isp_profile(home, plain_server, networks=["192.168.1.0/24"])
    isp = load_profiles().get("isp")
    assert isp is not None
    assert not outside_networks(isp, "192.168.1.7")
    assert outside_networks(isp, "10.20.0.5")
    assert not outside_networks(isp, "10.20.0.5", reported="192.168.1.200")  # seen through NAT
    assert not outside_networks(isp, None)  # cannot tell


def _result(outcome: Outcome) -> AttemptResult:
    return AttemptResult(
        outcome, ExitCode.OK if outcome is Outcome.SENT else ExitCode.UNAVAILABLE, ""
    )


def test_outcomes_are_remembered_per_network(home: Path) -> None:
    history = NetworkHistory()
    history.record(HOME, "isp", _result(Outcome.SENT))
    history.record(OFFICE, "isp", _result(Outcome.REFUSED))
    history.record(OFFICE, "portal", _result(Outcome.SENT))
    history.record(OFFICE, "draft", _result(Outcome.CANCELLED))  # says nothing about the network
    again = NetworkHistory()  # read back from disk
    assert again.here(HOME, "isp").label.startswith("worked here")
    assert again.here(OFFICE, "isp").label.startswith("failed here")
    assert again.here(HOME, "portal").label == "not tried here"
    assert again.here(OFFICE, "draft").verdict is None
    assert again.last_worked(OFFICE) == "portal"
    assert again.last_worked(HOME) == "isp"


async def test_send_records_outcome_and_relay_suggestion_avoids_what_failed_here(
    home: Path, isp_server: RunningServer, portal_server: RunningServer, pki: Pki
) -> None:
    isp_profile(home, isp_server, source_address="127.0.0.2")
    portal_profile(home, portal_server, pki)
    portal_profile(
        home, portal_server, pki, profile_id="backup", name="Backup portal", password="wrong"
    )
    found = load_profiles()
    locator = MovableLocator(OFFICE)
    history = NetworkHistory()
    backup, isp = found.get("backup"), found.get("isp")
    assert backup is not None and isp is not None
    draft = Draft(to=("bob@example.org",), subject="s", body="b")
    failed = await sending.send(
        backup, draft, profiles=found.profiles, locator=locator, history=history
    )
    assert failed.exit_code == 77
    result = await sending.send(
        isp, draft, profiles=found.profiles, locator=locator, history=history
    )
    assert result.diagnosis is not None and result.diagnosis.kind == "relay-denied"
    # "backup" logs in too, but it failed on this network: the suggestion is the other one.
    assert result.diagnosis.retry_profile == "portal"
    assert "(127.0.0.2)" in result.summary  # where the server saw us coming from
    assert history.here(OFFICE, "isp").verdict == "failed"
    record = (home / "transcripts" / f"{result.attempt_id}.json").read_text()
    assert OFFICE.key in record


def test_trust_warning_names_the_better_profile(
    home: Path, plain_server: RunningServer, pki: Pki
) -> None:
    isp_profile(home, plain_server, networks=["192.168.1.0/24"])
    portal_profile(home, plain_server, pki)  # type: ignore[arg-type]
    found = load_profiles()
    isp = found.get("isp")
    assert isp is not None
    history = NetworkHistory()
    assert trust_warning(isp, found.profiles, HOME, "192.168.1.7", history) is None
    warning = trust_warning(isp, found.profiles, OFFICE, "10.20.0.5", history)
    assert warning is not None
    assert "outside the networks where Home ISP is trusted (192.168.1.0/24)" in warning.text
    assert warning.alternative is not None and warning.alternative.id == "portal"


def test_no_trust_warning_where_the_profile_last_worked(
    home: Path, plain_server: RunningServer
) -> None:
    isp_profile(home, plain_server, networks=["192.168.1.0/24"])
    isp = load_profiles().get("isp")
    assert isp is not None
    history = NetworkHistory()
    sent = AttemptResult(Outcome.SENT, ExitCode.OK, "", client_address="10.20.0.5")
    refused = AttemptResult(Outcome.REFUSED, ExitCode.UNAVAILABLE, "")
    assert trust_warning(isp, [isp], OFFICE, "10.20.0.5", history) is not None
    history.record(OFFICE, "isp", sent)
    assert trust_warning(isp, [isp], OFFICE, "10.20.0.5", history) is None
    history.record(HOME, "isp", refused)  # another network says nothing about this one
    assert trust_warning(isp, [isp], OFFICE, "10.20.0.5", history) is None
    history.record(OFFICE, "isp", refused)  # it stopped working here: warn again
    assert trust_warning(isp, [isp], OFFICE, "10.20.0.5", history) is not None
