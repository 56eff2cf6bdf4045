"""Whether a profile's server fits its From domain's DMARC policy, and what mailtui says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DnsStarter
from tui.core.from_fit import PROVIDERS, check_fit, fit_warning, own_server
from tui.core.profiles import Profile


def profile(from_: str = "Jane Doe <jane@yahoo.com>", **keys: Any) -> Profile:
    values: dict[str, Any] = {
        "id": "isp",
        "name": "Home ISP",
        "from_": from_,
        "host": "smtp.isp.example",
        "security": "none",
        **keys,
    }
    return Profile(**values)


def portal(from_: str = "Jane Doe <jane@yahoo.com>", **keys: Any) -> Profile:
    values = {"id": "yahoo", "name": "Yahoo", "host": "smtp.mail.yahoo.com", "security": "tls"}
    return profile(from_, **{**values, "auth": "plain", "username": "jane", **keys})


def test_isp_relay_with_a_yahoo_from_is_warned_in_one_sentence_with_the_fix() -> None:
    assert fit_warning(profile(), "reject") == (
        "yahoo.com publishes DMARC p=reject: mail From jane@yahoo.com sent through "
        "smtp.isp.example (not Yahoo's server) will probably be rejected by the recipients' "
        "servers even though this server accepts it. Send with a profile that logs in to "
        "yahoo.com, or use a From address of your ISP."
    )


def test_quarantine_says_spam_and_the_profile_that_fits_is_named() -> None:
    text = fit_warning(profile("jane@aol.com"), "quarantine", (profile(), portal("jane@aol.com")))
    assert text is not None
    assert "aol.com publishes DMARC p=quarantine" in text
    assert "(not AOL's server) will probably be put in the recipients' spam folders" in text
    assert "Send with Yahoo (profile yahoo), which logs in to aol.com" not in text  # yahoo host
    yahoo_ok = portal("jane@aol.com", host="smtp.aol.com")
    text = fit_warning(profile("jane@aol.com"), "quarantine", (profile(), yahoo_ok))
    assert text is not None and "Send with Yahoo (profile yahoo), which logs in to aol.com" in text


def test_short_form_for_a_small_screen() -> None:
    assert fit_warning(profile(), "reject", (profile(), portal()), short=True) == (
        "DMARC p=reject at yahoo.com: recipients will probably refuse this From via "
        "smtp.isp.example; Yahoo fits."
    )


@pytest.mark.parametrize("policy", ["none", None, "bogus"])
def test_no_demanding_policy_no_warning(policy: str | None) -> None:
    assert fit_warning(profile(), policy) is None
    assert fit_warning(profile(), "reject") is not None  # the same profile, with p=reject


@pytest.mark.parametrize(
    ("fits", "keys"),
    [
        (True, {"host": "smtp.mail.yahoo.com", "auth": "plain"}),  # the domain's own server
        (True, {"host": "smtp.yahoo.com", "auth": "none"}),  # under it, whatever the login
        (True, {"host": "127.0.0.1", "auth": "plain", "username": "jane@yahoo.com"}),
        (True, {"host": "127.0.0.1", "auth": "plain", "username": "Jane@Mail.Yahoo.com"}),
        (False, {"host": "127.0.0.1", "auth": "none"}),  # an IP-trusted relay
        (False, {"host": "127.0.0.1", "auth": "plain", "username": "jane"}),
        (False, {"host": "smtp.gmail.com", "auth": "plain", "username": "jane@gmail.com"}),
        (False, {"host": "notyahoo.com", "auth": "plain"}),  # not under yahoo.com
        (False, {"host": "yahoo.com.isp.example", "auth": "plain"}),
    ],
)
def test_own_server(fits: bool, keys: dict[str, Any]) -> None:
    assert own_server(profile(**keys), "yahoo.com") is fits
    assert (fit_warning(profile(**keys), "reject") is None) is fits


def test_a_relay_of_the_from_domain_itself_fits() -> None:
    isp = profile("Jane <jane@isp-mail.net>", host="smtp.isp-mail.net")
    assert fit_warning(isp, "reject") is None


def test_a_login_to_another_server_says_whose_address_to_use() -> None:
    text = fit_warning(profile(host="mail.hosting.net", auth="login", username="jane"), "reject")
    assert text is not None
    assert "(not Yahoo's server)" in text
    assert text.endswith("or use a From address of the provider of mail.hosting.net.")
    unknown = fit_warning(profile("jane@corp-mail.com"), "reject")
    assert unknown is not None and "(not a server of corp-mail.com)" in unknown


@pytest.mark.parametrize("domain", sorted(PROVIDERS))
def test_each_provider_row_fits_its_servers_and_warns_elsewhere(domain: str) -> None:
    row = PROVIDERS[domain]
    for host in row.hosts:
        own = portal(f"jane@{domain}", host=f"smtp.{host}")
        assert own_server(own, domain), host
        assert fit_warning(own, "reject") is None
    text = fit_warning(profile(f"jane@{domain}"), "reject")
    assert text is not None and f"(not {row.name}'s server)" in text


async def test_check_fit_looks_up_only_when_the_server_is_not_the_domains(
    home: Path, dns_server: DnsStarter
) -> None:
    server = dns_server({"_dmarc.yahoo.com": ["v=DMARC1; p=reject"]})
    assert await check_fit(portal()) is None
    assert server.queries == []  # its own server: nothing to ask
    text = await check_fit(profile(), (profile(), portal()))
    assert text is not None and "Send with Yahoo (profile yahoo)" in text
    assert server.queries == ["_dmarc.yahoo.com"]
