"""Well-known providers' submission settings: knowledge that grows by rows.

A row says how a provider's customers send: the submission server, port and TLS mode, how
they log in, where the IMAP server for the Sent copy is, and the provider's own page about
it. An address matches a row by its domain (`domains`), or, for a domain hosted elsewhere
(Google Workspace, Microsoft 365), by the domain of its MX host (`mx_domains`), the way
Thunderbird recognises them. Where a provider takes app passwords, the how-to comes from
tui/core/wordings.py's APP_PASSWORD_PROVIDERS (one place for it); the OAuth2 endpoints from
tui/core/oauth/settings.py's PROVIDERS. `tests/core/test_discovery_providers.py` checks
every row.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

# How the person logs in: "password" (the account's own), "app-password" (one made in the
# account's security settings), "oauth2" (a token: `mailtui login`), "none" (the relay
# trusts the ISP's own network).
Login = Literal["password", "app-password", "oauth2", "none"]
LOGINS: tuple[Login, ...] = ("password", "app-password", "oauth2", "none")
# Who logs in: the whole address, or its part before the @.
Username = Literal["address", "local"]
Security = Literal["tls", "starttls", "none"]


class ProviderRow(NamedTuple):
    name: str
    domains: tuple[str, ...]  # the address's domain (case-insensitive, exact)
    mx_domains: tuple[str, ...]  # the MX host's name ends in one of these
    host: str
    port: int
    security: Security
    login: Login
    imap: tuple[str, int, Literal["tls", "starttls"]] | None
    help: str  # the provider's own page about mail programs
    username: Username = "address"
    oauth: Literal["microsoft", "google"] | None = None  # the [oauth] provider for login
    note: str = ""  # one sentence shown with the settings


# fmt: off
PROVIDERS: tuple[ProviderRow, ...] = (
    ProviderRow(
        "Gmail", ("gmail.com", "googlemail.com"), (),
        "smtp.gmail.com", 465, "tls", "app-password", ("imap.gmail.com", 993, "tls"),
        "https://support.google.com/mail/answer/7126229", oauth="google",
    ),
    ProviderRow(
        "Google Workspace", (), ("google.com", "googlemail.com"),
        "smtp.gmail.com", 465, "tls", "app-password", ("imap.gmail.com", 993, "tls"),
        "https://support.google.com/a/answer/176600", oauth="google",
    ),
    ProviderRow(
        "Outlook.com",
        ("outlook.com", "hotmail.com", "live.com", "msn.com", "hotmail.co.uk", "hotmail.fr",
         "outlook.fr", "live.co.uk", "outlook.de", "hotmail.de"),
        (),
        "smtp-mail.outlook.com", 587, "starttls", "oauth2",
        ("outlook.office365.com", 993, "tls"),
        "https://support.microsoft.com/en-us/office/"
        "pop-imap-and-smtp-settings-for-outlook-com-d088b986-291d-42b8-9564-9c414e2aa040",
        oauth="microsoft",
        note="Outlook.com takes no password for SMTP: sign in with OAuth2.",
    ),
    ProviderRow(
        "Microsoft 365", (), ("outlook.com", "office365.com"),
        "smtp.office365.com", 587, "starttls", "oauth2", ("outlook.office365.com", 993, "tls"),
        "https://learn.microsoft.com/en-us/exchange/clients-and-mobile-in-exchange-online/"
        "authenticated-client-smtp-submission",
        oauth="microsoft",
        note="SMTP AUTH must be enabled for the mailbox by your organisation's administrator.",
    ),
    ProviderRow(
        "Yahoo Mail",
        ("yahoo.com", "ymail.com", "rocketmail.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de",
         "yahoo.es", "yahoo.it", "yahoo.ca", "yahoo.com.au"),
        ("yahoodns.net",),
        "smtp.mail.yahoo.com", 465, "tls", "app-password", ("imap.mail.yahoo.com", 993, "tls"),
        "https://help.yahoo.com/kb/SLN4075.html",
    ),
    ProviderRow(
        "AOL Mail", ("aol.com", "aim.com"), (),
        "smtp.aol.com", 465, "tls", "app-password", ("imap.aol.com", 993, "tls"),
        "https://help.aol.com/articles/how-do-i-use-other-email-applications-to-send-and-receive-my-aol-mail",
    ),
    ProviderRow(
        "iCloud Mail", ("icloud.com", "me.com", "mac.com"), (),
        "smtp.mail.me.com", 587, "starttls", "app-password", ("imap.mail.me.com", 993, "tls"),
        "https://support.apple.com/en-us/102525",
    ),
    ProviderRow(
        "Fastmail", ("fastmail.com", "fastmail.fm"), ("messagingengine.com",),
        "smtp.fastmail.com", 465, "tls", "app-password", ("imap.fastmail.com", 993, "tls"),
        "https://www.fastmail.help/hc/en-us/articles/1500000278342-Server-names-and-ports",
    ),
    ProviderRow(
        "GMX", ("gmx.net", "gmx.de", "gmx.at", "gmx.ch"), (),
        "mail.gmx.net", 587, "starttls", "password", ("imap.gmx.net", 993, "tls"),
        "https://hilfe.gmx.net/pop-imap/imap/imap-serverdaten.html",
        note="Allow POP3 and IMAP access in GMX's settings first, or the login is refused.",
    ),
    ProviderRow(
        "GMX (gmx.com)", ("gmx.com", "gmx.us", "gmx.co.uk", "gmx.fr"), (),
        "mail.gmx.com", 587, "starttls", "password", ("imap.gmx.com", 993, "tls"),
        "https://support.gmx.com/pop-imap/imap/server.html",
    ),
    ProviderRow(
        "WEB.DE", ("web.de",), (),
        "smtp.web.de", 587, "starttls", "password", ("imap.web.de", 993, "tls"),
        "https://hilfe.web.de/pop-imap/imap/imap-serverdaten.html",
        note="Allow POP3 and IMAP access in WEB.DE's settings first, or the login is refused.",
    ),
    ProviderRow(
        "Zoho Mail", ("zoho.com", "zohomail.com"), ("zoho.com",),
        "smtp.zoho.com", 465, "tls", "password", ("imap.zoho.com", 993, "tls"),
        "https://www.zoho.com/mail/help/zoho-smtp.html",
        note="With two-factor authentication on, Zoho wants an app-specific password.",
    ),
    ProviderRow(
        "Proton Mail Bridge", ("proton.me", "protonmail.com", "protonmail.ch", "pm.me"),
        ("protonmail.ch",),
        "127.0.0.1", 1025, "starttls", "password", ("127.0.0.1", 1143, "starttls"),
        "https://proton.me/support/protonmail-bridge-install",
        note="Proton Mail sends through the Bridge app on this computer: start it, and use "
        "the password Bridge shows, not your Proton password.",
    ),
    ProviderRow(
        "Xfinity (Comcast)", ("comcast.net",), ("comcast.net",),
        "smtp.comcast.net", 587, "starttls", "password", ("imap.comcast.net", 993, "tls"),
        "https://www.xfinity.com/support/articles/email-client-programs-with-xfinity-email",
        username="local",
    ),
    ProviderRow(
        "BT Email", ("btinternet.com", "btopenworld.com", "talk21.com"), (),
        "mail.btinternet.com", 465, "tls", "password", ("mail.btinternet.com", 993, "tls"),
        "https://www.bt.com/help/email/manage-email-account/what-are-the-bt-email-server-settings-",
    ),
    ProviderRow(
        "Orange", ("orange.fr", "wanadoo.fr"), (),
        "smtp.orange.fr", 465, "tls", "password", ("imap.orange.fr", 993, "tls"),
        "https://assistance.orange.fr/",
        note="From an Orange connection, smtp.orange.fr on port 25 also sends without a login.",
    ),
    ProviderRow(
        "Free", ("free.fr",), (),
        "smtp.free.fr", 465, "tls", "password", ("imap.free.fr", 993, "tls"),
        "https://assistance.free.fr/",
        username="local",
        note="From a Free connection, smtp.free.fr on port 25 also sends without a login.",
    ),
)
# fmt: on


def _under(name: str, domain: str) -> bool:
    return name == domain or name.endswith("." + domain)


def by_domain(domain: str) -> ProviderRow | None:
    """The row for an address's domain (gmail.com: Gmail), or None."""
    domain = domain.lower().rstrip(".")
    return next((row for row in PROVIDERS if domain in row.domains), None)


def by_mx(mx_host: str) -> ProviderRow | None:
    """The row whose mail servers `mx_host` is one of (aspmx.l.google.com: Google Workspace)."""
    mx_host = mx_host.lower().rstrip(".")
    return next((row for row in PROVIDERS if any(_under(mx_host, d) for d in row.mx_domains)), None)
