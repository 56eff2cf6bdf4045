"""A tiny DNS server on loopback for the DMARC and discovery tests, built from dnspython's
own message parsing: it answers TXT queries from a table (and any type from `answers`:
("name", "SRV") -> ["0 1 465 smtp.example.org."]), NXDOMAIN for any other name, and with
`silent` never answers at all (a resolver that times out).

    python -m tests.dns_server PORT   # yahoo.com p=reject, aol.com p=quarantine, for a demo
"""

from __future__ import annotations

import socket
import sys
import threading

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

DEMO_RECORDS = {
    "_dmarc.yahoo.com": ["v=DMARC1; p=reject; pct=100; rua=mailto:d@rua.agari.com;"],
    "_dmarc.aol.com": ["v=DMARC1; p=quarantine;"],
}


class DnsServer:
    """Answers on 127.0.0.1:`port` (0: any free port) in a thread until `close()`."""

    def __init__(
        self,
        records: dict[str, list[str]] | None = None,
        silent: bool = False,
        port: int = 0,
        answers: dict[tuple[str, str], list[str]] | None = None,
    ) -> None:
        self.records = {k.lower().rstrip("."): v for k, v in (records or {}).items()}
        self.answers = {(n.lower().rstrip("."), t): v for (n, t), v in (answers or {}).items()}
        self.silent = silent
        self.queries: list[str] = []  # every name asked for, in order
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", port))
        self.sock.settimeout(0.05)
        self.port: int = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        """What MAILTUI_DNS takes."""
        return f"127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                wire, client = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                query = dns.message.from_wire(wire)
            except dns.exception.DNSException:
                continue
            question = query.question[0]
            name = question.name.to_text(omit_final_dot=True).lower()
            self.queries.append(name)
            if self.silent:
                continue
            response = dns.message.make_response(query)
            response.flags |= dns.flags.RA
            texts = self.records.get(name)
            kind = dns.rdatatype.to_text(question.rdtype)
            typed = self.answers.get((name, kind))
            if typed:
                response.answer.append(
                    dns.rrset.from_text(question.name, 300, dns.rdataclass.IN, kind, *typed)
                )
            elif texts is None and all(n != name for n, _ in self.answers):
                response.set_rcode(dns.rcode.NXDOMAIN)
            elif question.rdtype == dns.rdatatype.TXT:
                quoted = ['"' + t.replace('"', '\\"') + '"' for t in texts]
                response.answer.append(
                    dns.rrset.from_text(question.name, 300, dns.rdataclass.IN, "TXT", *quoted)
                )
            self.sock.sendto(response.to_wire(), client)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


if __name__ == "__main__":
    server = DnsServer(DEMO_RECORDS, port=int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    print(f"DNS on {server.address}; records: {', '.join(DEMO_RECORDS)}", flush=True)
    threading.Event().wait()
