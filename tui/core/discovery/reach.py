"""What discovery may talk to, and how: the DNS resolver, the ports, the trust anchors.

Every name discovery looks up (SRV, MX, the addresses of autoconfig and SMTP hosts) goes
to one dnspython resolver, and every connection goes through `Reach.connect`, so a test (or
a try by hand) points the whole of discovery at loopback with two settings:

- `MAILTUI_DNS=127.0.0.1:5353`: the DNS server to ask (as for DMARC, tui/core/dmarc.py).
  When it is a loopback address, discovery connects to loopback addresses only: a name
  that the test server answers with anything else is refused, never reached.
- `MAILTUI_DISCOVERY_PORTS=443=8443,465=2465` (for tests): connect to these ports instead
  of the standard ones (HTTPS, SMTP), where an unprivileged test server listens.

Certificates are checked against the system's trust store (`SSL_CERT_FILE` replaces it, as
everywhere in Python) plus `Reach.ca_file`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import os
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dns.asyncresolver import Resolver

PORTS_ENV = "MAILTUI_DISCOVERY_PORTS"
# Each DNS lookup, HTTP fetch and SMTP probe step gets at most this long.
STEP_TIMEOUT = 6.0
ISPDB = "https://autoconfig.thunderbird.net/v1.1/"


class LookupFailed(Exception):
    """The DNS server gave no answer (a timeout, SERVFAIL): unlike "no such record", this
    says nothing about the domain."""


class Unreachable(OSError):
    """No address of the host could be connected to; the message says why."""


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


@dataclass(frozen=True)
class Reach:
    """The resolver and connection settings one discovery uses (see the module's doc)."""

    resolver: Resolver
    ports: Mapping[int, int] = field(default_factory=dict)
    ca_file: str | None = None
    timeout: float = STEP_TIMEOUT
    only_loopback: bool = False
    ispdb: str = ISPDB

    def port(self, port: int) -> int:
        return self.ports.get(port, port)

    def tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if self.ca_file:
            context.load_verify_locations(cafile=self.ca_file)
        return context

    async def records(self, name: str, kind: str) -> list[Any]:
        """The `kind` records at `name` ([] when there are none); LookupFailed when the DNS
        server does not answer."""
        import dns.exception
        import dns.resolver

        try:
            async with asyncio.timeout(self.timeout):
                answer = await self.resolver.resolve(
                    name, kind, search=False, raise_on_no_answer=False, lifetime=self.timeout
                )
        except (dns.resolver.NXDOMAIN, dns.resolver.NoNameservers) as exc:
            if isinstance(exc, dns.resolver.NoNameservers):
                raise LookupFailed(f"no DNS server answered for {name}") from None
            return []
        except (dns.exception.DNSException, TimeoutError):
            raise LookupFailed(f"no answer from DNS for {name}") from None
        return list(answer.rrset) if answer.rrset is not None else []

    async def addresses(self, host: str) -> list[str]:
        """The IP addresses of `host`, IPv6 and IPv4 interleaved; a literal is itself, and
        localhost is loopback (RFC 6761) without asking."""
        literal = _literal(host)
        if literal is not None:
            return [literal]
        name = host.rstrip(".").lower()
        if name == "localhost" or name.endswith(".localhost"):
            return ["127.0.0.1"]
        found: list[list[str]] = []
        for kind in ("AAAA", "A"):
            try:
                found.append([r.address for r in await self.records(name, kind)])
            except LookupFailed:
                found.append([])
        return [a for pair in itertools.zip_longest(*found) for a in pair if a is not None]

    async def connect(self, host: str, port: int) -> socket.socket:
        """A TCP connection to `host` on `port` (or the port `ports` puts in its place)."""
        addresses = await self.addresses(host)
        if not addresses:
            raise Unreachable(f"{host} has no address")
        target = self.port(port)
        last: OSError | None = None
        for address in addresses:
            if self.only_loopback and not is_loopback(address):
                last = Unreachable(f"{host} is {address}, not on loopback (refused while testing)")
                continue
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setblocking(False)
            try:
                async with asyncio.timeout(self.timeout):
                    await asyncio.get_running_loop().sock_connect(sock, (address, target))
            except TimeoutError:
                sock.close()
                last = Unreachable(f"{host}:{port} did not answer within {self.timeout:g} s")
            except OSError as exc:
                sock.close()
                last = Unreachable(f"{host}:{port}: {exc.strerror or exc}")
            else:
                return sock
        raise last or Unreachable(f"{host}:{port} cannot be reached")


def ports_from(text: str) -> dict[int, int]:
    """`443=8443,465=2465` as {443: 8443, 465: 2465}; ValueError for anything else."""
    ports: dict[int, int] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        standard, _, used = item.partition("=")
        a, b = int(standard), int(used)
        if not (0 < a < 65536 and 0 < b < 65536):
            raise ValueError(item)
        ports[a] = b
    return ports


def from_environment() -> Reach:
    """The system's resolver, or MAILTUI_DNS's server (then loopback only when it is on
    loopback), with MAILTUI_DISCOVERY_PORTS's ports. ValueError for a setting that makes no
    sense: discovery then asks no one rather than the wrong one."""
    from tui.core import dmarc

    server = dmarc.nameserver()  # raises DnsSettingError, a ValueError
    resolver = dmarc.make_resolver()
    resolver.timeout = resolver.lifetime = STEP_TIMEOUT
    ports = ports_from(os.environ.get(PORTS_ENV, ""))
    return Reach(resolver, ports, only_loopback=server is not None and is_loopback(server[0]))
