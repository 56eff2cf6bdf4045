"""TLS for a profile: the verifying context, certificate details, and pin checks."""

from __future__ import annotations

import asyncio
import hashlib
import socket
import ssl
import time
from typing import Any, NamedTuple

from tui.core.profiles import Profile, file_kind
from tui.core.transcript import printable

# OpenSSL verify codes (X509_V_ERR_*) mapped to what a person can act on.
_VERIFY_KINDS = {
    10: "cert-expired",
    18: "cert-self-signed",
    19: "cert-untrusted",
    20: "cert-untrusted",
    21: "cert-untrusted",
    62: "cert-hostname",
    64: "cert-hostname",
}


class CertificateInfo(NamedTuple):
    """The server certificate and the TLS parameters it was seen with."""

    fingerprint: str
    subject: str
    issuer: str
    not_after: str
    version: str = ""
    cipher: str = ""

    def summary(self) -> str:
        parts = []
        if self.version:
            parts.append(f"{self.version} {self.cipher}".strip())
        parts.append(f"subject {self.subject}")
        parts.append(f"issuer {self.issuer}")
        parts.append(f"valid until {self.not_after}")
        parts.append(self.fingerprint)
        return "; ".join(parts)


class TlsConfigError(Exception):
    """The profile's TLS settings cannot be used (for example an unreadable ca_file)."""


def fingerprint(der: bytes) -> str:
    digest = hashlib.sha256(der).hexdigest().upper()
    return "sha256:" + ":".join(digest[i : i + 2] for i in range(0, 64, 2))


def make_tls_context(profile: Profile) -> ssl.SSLContext:
    """Verify against the system store plus `ca_file`; with a pin, the pin alone decides.

    As in msmtp, a pinned certificate is trusted whatever its chain says, and the pin is
    checked right after the handshake, before anything else is sent.
    """
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if profile.tls_fingerprint:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if profile.ca_file:
        # Checked again here: a named pipe would block this thread, which Ctrl-C cannot stop.
        kind = file_kind(profile.ca_file)
        if kind not in ("a regular file", "missing"):
            raise TlsConfigError(
                f"ca_file {profile.ca_file} of profile {profile.id} is {kind}, not a regular "
                "file; point it at a PEM certificate file."
            )
        try:
            context.load_verify_locations(cafile=profile.ca_file)
        except (OSError, ssl.SSLError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise TlsConfigError(
                f"ca_file {profile.ca_file} of profile {profile.id} cannot be loaded ({reason}); "
                "point it at a PEM certificate file."
            ) from None
    return context


_NAME_KEYS = {
    "commonName": "CN",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "countryName": "C",
    "localityName": "L",
    "stateOrProvinceName": "ST",
    "emailAddress": "E",
}


def _name(rdns: Any) -> str:
    parts = [f"{_NAME_KEYS.get(key, key)}={value}" for rdn in rdns for key, value in rdn]
    return ",".join(reversed(parts)) or "(empty)"


def describe_certificate(
    der: bytes,
    peercert: dict[str, Any] | None = None,
    version: str | None = "",
    cipher: str | None = "",
) -> CertificateInfo:
    """Fingerprint, subject, issuer and expiry of a DER certificate.

    A verified connection already has the decoded certificate (`peercert`); only an
    unverified one needs the `cryptography` parser, which is slow to import.
    """
    if peercert:
        subject = _name(peercert.get("subject", ()))
        issuer = _name(peercert.get("issuer", ()))
        expires = ssl.cert_time_to_seconds(peercert["notAfter"]) if "notAfter" in peercert else None
        not_after = time.strftime("%Y-%m-%d", time.gmtime(expires)) if expires else "(unknown)"
    else:
        from cryptography import x509

        try:
            cert = x509.load_der_x509_certificate(der)
            subject = cert.subject.rfc4514_string() or "(empty)"
            issuer = cert.issuer.rfc4514_string() or "(empty)"
            not_after = cert.not_valid_after_utc.strftime("%Y-%m-%d")
        except ValueError:
            subject = issuer = not_after = "(unreadable)"
    # Names are whatever the certificate says (any man in the middle can present one):
    # shown escaped, never as terminal controls.
    return CertificateInfo(
        fingerprint(der),
        printable(subject),
        printable(issuer),
        not_after,
        version or "",
        cipher or "",
    )


def verify_error_kind(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return _VERIFY_KINDS.get(exc.verify_code, "cert-invalid")
    return "tls"


async def speaks_tls(sock: socket.socket, host: str, limit: float) -> bool:
    """Whether the server on `sock`, a fresh connection, answers a TLS hello (a handshake, or
    a TLS alert): then its port expects TLS from the first byte. Nothing else is sent, so
    nothing is verified; the connection is closed."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    loop = asyncio.get_running_loop()
    try:
        transport, _protocol = await loop.create_connection(
            asyncio.Protocol,
            sock=sock,
            ssl=context,
            server_hostname=host,
            ssl_handshake_timeout=limit,
        )
    except ssl.SSLError as exc:
        sock.close()
        return "ALERT" in (exc.reason or "").upper()  # a TLS server that dislikes the hello
    except (OSError, ConnectionError):
        sock.close()
        return False
    transport.close()
    return True


async def fetch_certificate(profile: Profile) -> CertificateInfo | None:
    """Connect again without verification only to show the person which certificate was offered.

    Nothing but EHLO and STARTTLS is sent on this connection; no credentials, no mail.
    """
    import aiosmtplib

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    smtp = aiosmtplib.SMTP(
        hostname=profile.host,
        port=profile.effective_port,
        use_tls=profile.security == "tls",
        start_tls=profile.security == "starttls",
        tls_context=context,
        source_address=(profile.source_address, 0) if profile.source_address else None,
        local_hostname=profile.helo or "localhost",
        timeout=min(profile.timeout, 10.0),
    )
    try:
        async with asyncio.timeout(min(profile.timeout, 10.0)):
            await smtp.connect()
            ssl_object = smtp.get_transport_info("ssl_object")
            der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
    except (aiosmtplib.SMTPException, OSError, TimeoutError, ssl.SSLError):
        return None
    finally:
        smtp.close()
    return describe_certificate(der) if der else None
