"""Where am I: the current network's identity, and whether a profile trusts it.

The identity is the subnet of the interface that holds the default route plus the default
gateway (on Linux from /proc/net/route). It is found without sending a packet, stays the
same while the person stays put, and changes when they move. A `Locator` can be replaced,
so tests (and the demo's network switch) can move the machine.
"""

import asyncio
import contextlib
import ipaddress
import re
import socket
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from tui.core.profiles import Profile

DEFAULT_PROBE_PORTS = (25, 465, 587)
PROC_ROUTE = Path("/proc/net/route")
PROC_IF_INET6 = Path("/proc/net/if_inet6")
_SIOCGIFADDR = 0x8915
_SIOCGIFNETMASK = 0x891B
_REPORTED_RE = re.compile(r"\[(\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]+)\]")


class NetworkIdentity(NamedTuple):
    """The network this machine is on, as far as it can tell without sending anything."""

    local_address: str | None
    subnet: str | None
    gateway: str | None
    label: str | None = None  # a name given by whoever made the identity (the demo)

    @property
    def key(self) -> str:
        """Stable while the person stays put; changes when they move."""
        if self.label:
            return self.label
        return (
            f"{self.subnet or self.local_address or 'offline'} via {self.gateway or 'no gateway'}"
        )

    def describe(self) -> str:
        if self.label:
            return self.label
        if self.subnet is None and self.local_address is None:
            return "no network"
        where = self.subnet or self.local_address
        via = f" via {self.gateway}" if self.gateway else ""
        return f"{where}{via}"


def _interfaces_v4(only: str | None = None) -> list[tuple[str, ipaddress.IPv4Interface]]:
    """(name, address/netmask) of every IPv4 interface (or just `only`), through the
    SIOCGIF* ioctls."""
    try:
        import fcntl
    except ImportError:  # not on a Unix
        return []
    found: list[tuple[str, ipaddress.IPv4Interface]] = []
    names = [only] if only is not None else [name for _index, name in socket.if_nameindex()]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for name in names:
            request = struct.pack("256s", name.encode()[:15])
            try:
                address = socket.inet_ntoa(fcntl.ioctl(sock.fileno(), _SIOCGIFADDR, request)[20:24])
                mask = socket.inet_ntoa(fcntl.ioctl(sock.fileno(), _SIOCGIFNETMASK, request)[20:24])
            except OSError:
                continue
            found.append((name, ipaddress.IPv4Interface(f"{address}/{mask}")))
    return found


def _interfaces_v6() -> list[tuple[str, ipaddress.IPv6Interface]]:
    found: list[tuple[str, ipaddress.IPv6Interface]] = []
    try:
        lines = PROC_IF_INET6.read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        parts = line.split()
        if len(parts) < 6:
            continue
        raw, _index, prefix, _scope, _flags, name = parts[:6]
        address = ":".join(raw[i : i + 4] for i in range(0, 32, 4))
        found.append((name, ipaddress.IPv6Interface(f"{address}/{int(prefix, 16)}")))
    return found


def subnet_of(address: str) -> str | None:
    """The subnet of the local interface that holds `address` (or whose network contains it)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    interfaces: Sequence[tuple[str, ipaddress.IPv4Interface | ipaddress.IPv6Interface]]
    interfaces = _interfaces_v4() if ip.version == 4 else _interfaces_v6()
    exact = [iface for _name, iface in interfaces if iface.ip == ip]
    if exact:
        return str(exact[0].network)
    containing = [iface for _name, iface in interfaces if ip in iface.network]
    if containing:
        return str(max(containing, key=lambda i: i.network.prefixlen).network)
    return None


def trusted_network_for(address: str) -> str:
    """The network to add to a profile that just worked from `address`: its LAN (a /24 or
    smaller subnet), or the address alone when the subnet is wider (loopback, a big LAN)."""
    subnet = subnet_of(address)
    if subnet is not None:
        network = ipaddress.ip_network(subnet)
        if network.prefixlen >= (24 if network.version == 4 else 64):
            return subnet
    ip = ipaddress.ip_address(address)
    return f"{ip}/{32 if ip.version == 4 else 128}"


def default_route() -> tuple[str | None, str | None]:
    """(interface, gateway) of the IPv4 default route, from /proc/net/route where there is one."""
    try:
        lines = PROC_ROUTE.read_text().splitlines()[1:]
    except OSError:
        return None, None
    for line in lines:
        fields = line.split()
        if len(fields) >= 8 and fields[1] == "00000000" and fields[7] == "00000000":
            gateway = socket.inet_ntoa(struct.pack("<L", int(fields[2], 16)))
            return fields[0], gateway
    return None, None


# What getaddrinfo returns: (family, type, proto, canonname, sockaddr) for each address.
AddressInfos = Sequence[tuple[socket.AddressFamily, socket.SocketKind, int, str, tuple[Any, ...]]]


def literal_address_infos(host: str, port: int, kind: socket.SocketKind) -> AddressInfos:
    """getaddrinfo's answer for a literal IP address, at once (no lookup, no thread); empty
    for a host name. Given as bytes, the host skips the idna codec, which is slow to load."""
    if not host.isascii():
        return []
    try:
        return socket.getaddrinfo(
            host.encode("ascii"), port, type=kind, flags=socket.AI_NUMERICHOST
        )
    except OSError:
        return []


def local_address_toward(host: str, port: int = 25) -> str | None:
    """The local address the system would use to reach `host`; a UDP connect sends nothing."""
    try:
        infos = literal_address_infos(host, port, socket.SOCK_DGRAM) or socket.getaddrinfo(
            host, port, type=socket.SOCK_DGRAM
        )
    except OSError:
        return None
    for family, kind, proto, _name, address in infos:
        try:
            with socket.socket(family, kind, proto) as sock:
                sock.connect(address)
                return str(sock.getsockname()[0])
        except OSError:
            continue
    return None


def reported_client_address(*server_texts: str) -> str | None:
    """The client address a server states in its greeting or EHLO reply, when it does."""
    for text in server_texts:
        for match in _REPORTED_RE.finditer(text):
            try:
                return str(ipaddress.ip_address(match.group(1)))
            except ValueError:
                continue
    return None


class Locator:
    """Finds the current network; replace it to move the machine in tests or the demo."""

    def current(self) -> NetworkIdentity:
        interface, gateway = default_route()
        found = _interfaces_v4(only=interface) if interface is not None else []
        if not found:
            return NetworkIdentity(None, None, gateway)
        [(_name, address)] = found
        return NetworkIdentity(str(address.ip), str(address.network), gateway)

    def local_address(self, profile: Profile) -> str | None:
        """The address `profile`'s server will see us coming from (before any NAT)."""
        return profile.source_address or local_address_toward(profile.host, profile.effective_port)


def outside_networks(
    profile: Profile, local_address: str | None, reported: str | None = None
) -> bool:
    """True when the profile lists where it works and neither address is in any of them."""
    if not profile.networks:
        return False
    addresses = [a for a in (local_address, reported) if a]
    if not addresses:
        return False
    nets = [ipaddress.ip_network(n) for n in profile.networks]
    return not any(
        ipaddress.ip_address(a) in net
        for a in addresses
        for net in nets
        if ipaddress.ip_address(a).version == net.version
    )


async def probe_ports(
    host: str,
    ports: Sequence[int] = DEFAULT_PROBE_PORTS,
    limit: float = 3.0,
    source: str | None = None,
) -> dict[int, bool]:
    """Which of `ports` on `host` accept a TCP connection from here, tried in parallel."""

    async def one(port: int) -> bool:
        try:
            async with asyncio.timeout(limit):
                _reader, writer = await asyncio.open_connection(
                    host, port, local_addr=(source, 0) if source else None
                )
        except (OSError, TimeoutError):
            return False
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True

    results = await asyncio.gather(*(one(port) for port in ports))
    return dict(zip(ports, results, strict=True))


def describe_probe(host: str, results: dict[int, bool]) -> str:
    open_ports = [str(p) for p, ok in results.items() if ok]
    closed = [str(p) for p, ok in results.items() if not ok]
    if not open_ports:
        return f"From this network, {host} answers on none of the ports {', '.join(closed)}."
    if not closed:
        return f"From this network, {host} answers on ports {', '.join(open_ports)}."
    return (
        f"From this network, {host} answers on port {' and '.join(open_ports)}, "
        f"not on {' or '.join(closed)}."
    )
