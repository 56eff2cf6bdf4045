"""From and relay fit: will recipients refuse mail From this address when it comes through
this profile's server?

A domain that publishes DMARC `p=reject` (yahoo.com, aol.com, gmail.com…) gets mail From
it that an ISP relayed refused by the recipients' servers, even though the relay said 250:
the relay neither signs for the domain nor is in its SPF record. mailtui looks the policy up
before sending (dmarc.py) and warns when the server is not the domain's own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from tui.core.dmarc import normalise, organizational_domain, policy

if TYPE_CHECKING:
    from dns.asyncresolver import Resolver

    from tui.core.profiles import Profile


class Provider(NamedTuple):
    """A mail provider whose SMTP servers are named under other domains than its users'."""

    name: str
    hosts: tuple[str, ...]  # the provider's servers are these domains or under them


# From domain -> its provider. A server under the From domain itself needs no row; add one
# when a provider's users' addresses and its SMTP servers are in different domains.
PROVIDERS: dict[str, Provider] = {
    "yahoo.com": Provider("Yahoo", ("yahoo.com",)),
    "yahoo.co.uk": Provider("Yahoo", ("yahoo.com",)),
    "yahoo.fr": Provider("Yahoo", ("yahoo.com",)),
    "yahoo.de": Provider("Yahoo", ("yahoo.com",)),
    "ymail.com": Provider("Yahoo", ("yahoo.com",)),
    "rocketmail.com": Provider("Yahoo", ("yahoo.com",)),
    "aol.com": Provider("AOL", ("aol.com",)),
    "gmail.com": Provider("Google", ("gmail.com", "google.com")),
    "googlemail.com": Provider("Google", ("gmail.com", "google.com")),
    "outlook.com": Provider("Microsoft", ("outlook.com", "office365.com")),
    "hotmail.com": Provider("Microsoft", ("outlook.com", "office365.com")),
    "live.com": Provider("Microsoft", ("outlook.com", "office365.com")),
    "msn.com": Provider("Microsoft", ("outlook.com", "office365.com")),
    "icloud.com": Provider("Apple", ("me.com", "icloud.com")),
    "me.com": Provider("Apple", ("me.com", "icloud.com")),
    "mac.com": Provider("Apple", ("me.com", "icloud.com")),
    "gmx.com": Provider("GMX", ("gmx.com", "gmx.net")),
    "gmx.net": Provider("GMX", ("gmx.com", "gmx.net")),
    "gmx.de": Provider("GMX", ("gmx.com", "gmx.net")),
    "protonmail.com": Provider("Proton", ("protonmail.ch", "proton.me")),
    "proton.me": Provider("Proton", ("protonmail.ch", "proton.me")),
}


def from_domain(profile: Profile) -> str | None:
    """The domain of the profile's From address, normalised; None when it has none."""
    from tui.core.message import AddressError, parse_mailbox

    try:
        return normalise(parse_mailbox(profile.from_, "from").domain)
    except AddressError:
        return None


def _under(host: str, domain: str) -> bool:
    return host == domain or host.endswith(f".{domain}")


def own_server(profile: Profile, domain: str) -> bool:
    """Whether `profile` sends through a server of `domain`'s own, which can sign its mail
    and is listed in its SPF record, so DMARC passes.

    Yes when the server's name is under the From domain (or its organizational domain) or
    under a known provider's server domains for it (PROVIDERS), whatever the login; and when
    the profile logs in as an address of that domain (jane@yahoo.com logs in where yahoo.com's
    mailboxes are). An IP-trusted relay under another name, or a server named by its
    address, is not: the ISP relays for anyone, it does not sign for yahoo.com.
    """
    host = profile.host.strip().rstrip(".").lower()
    org = organizational_domain(domain)
    provider = PROVIDERS.get(domain) or PROVIDERS.get(org)
    hosts = (domain, org, *(provider.hosts if provider else ()))
    if any(_under(host, name) for name in hosts):
        return True
    if profile.logs_in and profile.username and "@" in profile.username:
        login = normalise(profile.username.rpartition("@")[2])
        return login is not None and _under(login, org)
    return False


def fit_warning(
    profile: Profile,
    policy: str | None,
    profiles: tuple[Profile, ...] = (),
    short: bool = False,
) -> str | None:
    """What to say when the From domain's DMARC `policy` will get mail sent through
    `profile`'s server refused (or filed as spam) by the recipients; None when it fits.

    `profiles` are searched for one that sends through the domain's own server, to name it.
    `short` gives one line for a small screen instead of the whole explanation and fix.
    """
    if policy not in ("reject", "quarantine"):
        return None
    domain = from_domain(profile)
    if domain is None or own_server(profile, domain):
        return None
    better = next((p for p in profiles if p.id != profile.id and _fits(p, domain)), None)
    if short:
        fate = "refuse" if policy == "reject" else "file as spam"
        fix = f"; {better.name} fits." if better is not None else "."
        return (
            f"DMARC p={policy} at {domain}: recipients will probably {fate} this From "
            f"via {profile.host}{fix}"
        )
    from tui.core.message import parse_mailbox

    address = parse_mailbox(profile.from_, "from").addr_spec
    provider = PROVIDERS.get(domain) or PROVIDERS.get(organizational_domain(domain))
    whose = f"{provider.name}'s server" if provider else f"a server of {domain}"
    fate = (
        "rejected by the recipients' servers"
        if policy == "reject"
        else "put in the recipients' spam folders"
    )
    if better is not None:
        fix = f"Send with {better.name} (profile {better.id}), which logs in to {domain}"
    else:
        fix = f"Send with a profile that logs in to {domain}"
    other = "of your ISP" if not profile.logs_in else f"of the provider of {profile.host}"
    return (
        f"{domain} publishes DMARC p={policy}: mail From {address} sent through {profile.host} "
        f"(not {whose}) will probably be {fate} even though this server accepts it. "
        f"{fix}, or use a From address {other}."
    )


def _fits(profile: Profile, domain: str) -> bool:
    return profile.logs_in and from_domain(profile) == domain and own_server(profile, domain)


async def lookup_policy(profile: Profile, resolver: Resolver | None = None) -> str | None:
    """The DMARC policy of `profile`'s From domain (dmarc.policy: bounded, cached, never
    raises); no lookup at all when the profile sends through that domain's own server."""
    domain = from_domain(profile)
    if domain is None or own_server(profile, domain):
        return None
    return await policy(domain, resolver)


async def check_fit(
    profile: Profile, profiles: tuple[Profile, ...] = (), resolver: Resolver | None = None
) -> str | None:
    """`fit_warning` for `profile`, its From domain's policy looked up first."""
    return fit_warning(profile, await lookup_policy(profile, resolver), profiles)
