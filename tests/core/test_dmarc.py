"""DMARC policy lookups against a real DNS server on loopback (tests/dns_server.py)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import dns.asyncresolver
import pytest

from tests.conftest import DnsStarter
from tui.core import dmarc

REJECT = "v=DMARC1; p=reject; pct=100; rua=mailto:dmarc@rua.example.net;"


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (REJECT, "reject"),
        ("v=DMARC1; p=quarantine; adkim=s", "quarantine"),
        ("v=DMARC1; p=none; rua=mailto:x@example.net", "none"),
        ("V=DMARC1;P=Reject", "reject"),  # tags and values in any case
        ("v=DMARC1; rua=mailto:x@example.net", "none"),  # no p: no demand
    ],
)
async def test_policy_from_the_record(
    home: Path, dns_server: DnsStarter, record: str, expected: str
) -> None:
    server = dns_server({"_dmarc.yahoo.com": [record]})
    assert await dmarc.policy("yahoo.com") == expected
    assert server.queries == ["_dmarc.yahoo.com"]


@pytest.mark.parametrize(
    "texts",
    [
        [],  # NXDOMAIN
        ["v=spf1 -all"],  # a TXT record, but no DMARC one
        [REJECT, "v=DMARC1; p=none"],  # two DMARC records: none counts (RFC 7489 6.6.3)
    ],
)
async def test_no_record_is_no_policy(home: Path, dns_server: DnsStarter, texts: list[str]) -> None:
    server = dns_server({"_dmarc.example-isp.net": texts} if texts else {})
    assert await dmarc.policy("example-isp.net") is None
    assert server.queries == ["_dmarc.example-isp.net"]  # asked, and told: none
    saved = json.loads((home / "dmarc.json").read_text())["example-isp.net"]
    assert saved["policy"] is None and saved["until"] - time.time() > 23 * 3600  # an answer


async def test_organizational_domain_applies_when_the_subdomain_has_none(
    home: Path, dns_server: DnsStarter
) -> None:
    server = dns_server(
        {
            "_dmarc.corp-mail.com": ["v=DMARC1; p=quarantine"],
            "_dmarc.yahoo.co.uk": [REJECT],
            "_dmarc.split.com": ["v=DMARC1; p=reject; sp=none"],
        }
    )
    assert await dmarc.policy("eu.corp-mail.com") == "quarantine"
    assert server.queries == ["_dmarc.eu.corp-mail.com", "_dmarc.corp-mail.com"]
    assert await dmarc.policy("mail.yahoo.co.uk") == "reject"  # not _dmarc.co.uk
    assert server.queries[-1] == "_dmarc.yahoo.co.uk"
    assert await dmarc.policy("split.com") == "reject"
    assert await dmarc.policy("sub.split.com") == "none"  # sp= is for subdomains


def test_organizational_domain() -> None:
    assert dmarc.organizational_domain("smtp.mail.yahoo.com") == "yahoo.com"
    assert dmarc.organizational_domain("yahoo.com") == "yahoo.com"
    assert dmarc.organizational_domain("smtp.yahoo.co.uk") == "yahoo.co.uk"


async def test_a_server_that_never_answers_costs_the_timeout_once(
    home: Path, dns_server: DnsStarter
) -> None:
    server = dns_server(silent=True)
    started = time.monotonic()
    assert await dmarc.policy("gmail.com") is None
    took = time.monotonic() - started
    assert server.queries == ["_dmarc.gmail.com"]
    assert 1.0 < took < 2.0, took  # about LOOKUP_TIMEOUT (1.5 s), never more
    started = time.monotonic()
    assert await dmarc.policy("gmail.com") is None  # the failure is remembered a while
    assert time.monotonic() - started < 0.1
    assert server.queries == ["_dmarc.gmail.com"]


async def test_answers_are_kept_for_a_day_in_memory_and_on_disk(
    home: Path, dns_server: DnsStarter
) -> None:
    server = dns_server({"_dmarc.yahoo.com": [REJECT], "_dmarc.aol.com": [REJECT]})
    assert await dmarc.policy("yahoo.com") == "reject"
    assert await dmarc.policy("Yahoo.COM.") == "reject"
    assert server.queries == ["_dmarc.yahoo.com"]
    saved = json.loads((home / "dmarc.json").read_text())
    assert saved["yahoo.com"]["policy"] == "reject"
    assert 23 * 3600 < saved["yahoo.com"]["until"] - time.time() <= 24 * 3600
    assert (home / "dmarc.json").stat().st_mode & 0o777 == 0o600
    dmarc.forget()  # as a new process: the file answers
    assert await dmarc.policy("yahoo.com") == "reject"
    assert server.queries == ["_dmarc.yahoo.com"]
    # A day later it is asked again.
    saved["yahoo.com"]["until"] = time.time() - 1
    (home / "dmarc.json").write_text(json.dumps(saved))
    dmarc.forget()
    assert await dmarc.policy("yahoo.com") == "reject"
    assert server.queries == ["_dmarc.yahoo.com", "_dmarc.yahoo.com"]


async def test_a_cache_that_cannot_be_read_or_written_is_no_failure(
    home: Path, dns_server: DnsStarter
) -> None:
    dns_server({"_dmarc.yahoo.com": [REJECT]})
    (home / "dmarc.json").write_text("{not json")
    assert await dmarc.policy("yahoo.com") == "reject"
    dmarc.forget()
    (home / "dmarc.json").unlink()
    (home / "dmarc.json").mkdir()  # cannot be replaced by a file
    assert await dmarc.policy("yahoo.com") == "reject"


async def test_reserved_names_are_never_looked_up(home: Path, dns_server: DnsStarter) -> None:
    server = dns_server({"_dmarc.isp.example": [REJECT], "_dmarc.example.org": [REJECT]})
    for domain in ("isp.example", "example.org", "mail.example.com", "box.test", "[192.0.2.1]"):
        assert await dmarc.policy(domain) is None
    assert server.queries == []


async def test_a_resolver_can_be_given(home: Path, dns_server: DnsStarter) -> None:
    server = dns_server({"_dmarc.aol.com": ["v=DMARC1; p=reject"]})
    dns_server(silent=True)  # MAILTUI_DNS now names a server that never answers
    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.nameservers, resolver.port = ["127.0.0.1"], server.port
    assert await dmarc.policy("aol.com", resolver) == "reject"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("127.0.0.1", ("127.0.0.1", 53)),
        ("[::1]:5353", ("::1", 5353)),
        ("::1", ("::1", 53)),
    ],
)
def test_mailtui_dns(monkeypatch: pytest.MonkeyPatch, value: str, expected: object) -> None:
    monkeypatch.setenv("MAILTUI_DNS", value)
    assert dmarc.nameserver() == expected


@pytest.mark.parametrize("value", ["dns.example:53", "127.0.0.1:99999", "[::1]x", "1.2.3.4:a"])
async def test_a_bad_mailtui_dns_asks_no_one(
    home: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("MAILTUI_DNS", value)
    with pytest.raises(dmarc.DnsSettingError):
        dmarc.nameserver()
    started = time.monotonic()
    assert await dmarc.policy("yahoo.com") is None
    assert time.monotonic() - started < 0.2
