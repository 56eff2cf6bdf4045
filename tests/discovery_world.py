"""A small internet on loopback for trying `mailtui profiles new` and the app's F3 by hand:
DNS on 127.0.0.1:53, autoconfig over HTTPS (443) and HTTP (80), SMTP on 465 (implicit
TLS), 587 (STARTTLS, AUTH only after it), 25 (a relay with no TLS and no login) and 1025
(Proton Mail Bridge's port), IMAP on 993 (imap.gmail.com's Sent copy), certificates from a
trustme CA written to FOLDER/ca.pem.

It binds the standard ports, so run it as root in a network namespace of its own, where
only loopback exists and the system resolver asks it (nothing can reach the internet):

    unshare -n -m --propagation private sh -c '
        ip link set lo up
        echo "nameserver 127.0.0.1" > /tmp/d17/resolv.conf
        mount --bind /tmp/d17/resolv.conf /etc/resolv.conf
        python -m tests.discovery_world /tmp/d17 &
        sleep 2
        MAILTUI_DNS=127.0.0.1 SSL_CERT_FILE=/tmp/d17/ca.pem mailtui profiles new jane@srv.example'

Addresses and the source that answers them: jane@proton.me (the provider table),
jane@autoconf.example (autoconfig over HTTPS), jane@plain.example (autoconfig over plain HTTP
only: asked about), jane@srv.example (SRV), jane@hosted.example (MX: Google Workspace),
jane@guess.example (guessed). Every login's password is "demo-password".
"""

from __future__ import annotations

import ssl
import sys
import threading
from pathlib import Path

import trustme

from tests.dns_server import DnsServer
from tests.scripted_imap import ScriptedImap, start_imap
from tests.web_server import WebServer, config_xml
from tui.demo.servers import ServerSpec, ServerThread

PASSWORD = "demo-password"
DOMAINS = ("autoconf.example", "plain.example", "srv.example", "hosted.example", "guess.example")
ADDRESSES = [f"jane@{d}" for d in (*DOMAINS, "proton.me")]
CONFIG = "/mail/config-v1.1.xml"


def answers() -> dict[tuple[str, str], list[str]]:
    found: dict[tuple[str, str], list[str]] = {
        ("_submissions._tcp.srv.example", "SRV"): ["0 1 465 mail.srv.example."],
        ("_submission._tcp.srv.example", "SRV"): ["0 1 587 mail.srv.example."],
        ("hosted.example", "MX"): ["10 aspmx.l.google.com.", "20 alt1.aspmx.l.google.com."],
    }
    for name in (
        "autoconfig.autoconf.example",
        "smtp.autoconf.example",
        "autoconfig.plain.example",
        "smtp.plain.example",
        "mail.srv.example",
        "smtp.gmail.com",
        "imap.gmail.com",
        "smtp.guess.example",
    ):
        found[(name, "A")] = ["127.0.0.1"]
    return found


def main(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    names = [f"*.{d}" for d in DOMAINS] + ["smtp.gmail.com", "imap.gmail.com", "127.0.0.1"]
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    users = {address: PASSWORD for address in ADDRESSES}
    dns = DnsServer(port=53, answers=answers())
    smtp_xml = config_xml([("smtp.autoconf.example", 465, "SSL")])
    plain_xml = config_xml([("smtp.plain.example", 465, "SSL")])
    web = WebServer({("autoconfig.autoconf.example", CONFIG): (200, {}, smtp_xml)}, context, 443)
    plain = WebServer({("autoconfig.plain.example", CONFIG): (200, {}, plain_xml)}, None, 80)
    servers = ServerThread().__enter__()
    logins = {"users": users, "auth_required": True}
    servers.start(ServerSpec("smtps", "tls", context, **logins), port=465)  # type: ignore[arg-type]
    servers.start(
        ServerSpec("submission", "starttls", context, require_starttls=True, **logins),  # type: ignore[arg-type]
        port=587,
    )
    servers.start(ServerSpec("relay"), port=25)
    start_imap(servers, ScriptedImap(context, users, port=993))  # Google's, for the Sent copy
    servers.start(
        ServerSpec("bridge", "starttls", context, require_starttls=True, **logins),  # type: ignore[arg-type]
        port=1025,
    )
    print(
        f"DNS 127.0.0.1:{dns.port}, HTTPS {web.port}, HTTP {plain.port}, SMTP 465 587 25 1025;"
        f" CA {folder / 'ca.pem'}",
        flush=True,
    )
    threading.Event().wait()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/d17"))
