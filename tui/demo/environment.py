"""`mailtui --demo`: local servers on loopback and demo profiles in a temporary MAILTUI_HOME.

The "ISP" relays only for 127.0.0.1 and answers others "554 5.7.1 Relay access denied";
the "web portal" requires STARTTLS (its certificate pinned by fingerprint in the demo
profile) and then AUTH. The network switch binds the ISP profile to 127.0.0.2 to play
"another office's network". The person's real profiles are never touched.
"""

from __future__ import annotations

import os
import shutil
import ssl
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

from tui.core.network import Locator, NetworkIdentity
from tui.core.profiles import Profile, parse_profile, save_profile
from tui.core.tls import fingerprint
from tui.demo.servers import Received, RunningServer, ServerSpec, ServerThread

DEMO_USER = "jane.doe"
DEMO_PASSWORD = "demo-password"
HOME_ADDRESS = "127.0.0.1"
AWAY_ADDRESS = "127.0.0.2"


def demo_profiles_dir() -> Path:
    """The shipped demo profile templates (repository checkout, or inside the wheel)."""
    packaged = Path(__file__).parent / "profiles"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "profiles" / "demo"


def _template(name: str) -> Profile:
    path = demo_profiles_dir() / f"{name}.toml"
    return parse_profile(name, tomllib.loads(path.read_text(encoding="utf-8")), path)


class DemoLocator(Locator):
    """The demo's network: the ISP's own (127.0.0.1) or another office's (127.0.0.2)."""

    def __init__(self, demo: DemoEnvironment) -> None:
        self.demo = demo

    def current(self) -> NetworkIdentity:
        if self.demo.away:
            return NetworkIdentity(AWAY_ADDRESS, "127.0.0.0/8", None, "another office (demo)")
        return NetworkIdentity(HOME_ADDRESS, "127.0.0.0/8", None, "the ISP's own network (demo)")


def _remove_stale_homes(older_than: float = 24 * 3600) -> None:
    """Remove demo folders left by demos that were killed before they could (their process
    is gone; a folder without a pid file, from an older mailtui, once it is a day old)."""
    for folder in Path(tempfile.gettempdir()).glob("mailtui-demo-*"):
        try:
            if folder.stat().st_uid != os.getuid():
                continue
            pid_file = folder / "pid"
            if pid_file.exists():
                os.kill(int(pid_file.read_text().strip()), 0)  # raises if it is gone
                continue
            if time.time() - folder.stat().st_mtime < older_than:
                continue
        except ProcessLookupError:
            pass
        except (OSError, ValueError):  # unreadable, someone else's process, a bad pid file
            continue
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class DemoEnvironment:
    home: Path
    thread: ServerThread
    isp: RunningServer
    portal: RunningServer
    away: bool = False

    @classmethod
    def start(cls) -> DemoEnvironment:
        """Start both servers and write the demo profiles; sets MAILTUI_HOME for this process."""
        import trustme

        _remove_stale_homes()
        home = Path(tempfile.mkdtemp(prefix="mailtui-demo-"))
        os.chmod(home, 0o700)
        (home / "pid").write_text(f"{os.getpid()}\n")
        os.environ["MAILTUI_HOME"] = str(home)
        ca = trustme.CA(organization_name="mailtui demo")
        cert = ca.issue_cert("localhost", HOME_ADDRESS)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        der = ssl.PEM_cert_to_DER_cert(cert.cert_chain_pems[0].bytes().decode())

        thread = ServerThread().__enter__()
        isp = thread.start(
            ServerSpec("isp", relay_networks=(f"{HOME_ADDRESS}/32",), hostname="smtp.isp.example")
        )
        portal = thread.start(
            ServerSpec(
                "portal",
                security="starttls",
                tls_context=context,
                require_starttls=True,
                users={DEMO_USER: DEMO_PASSWORD},
                auth_required=True,
                hostname="smtp.portal.example",
            )
        )
        save_profile(_template("isp")._replace(id="isp", port=isp.port, path=None))
        save_profile(
            _template("portal")._replace(
                id="portal",
                port=portal.port,
                tls_fingerprint=fingerprint(der),
                password=DEMO_PASSWORD,
                path=None,
            )
        )
        return cls(home, thread, isp, portal)

    @property
    def locator(self) -> Locator:
        return DemoLocator(self)

    @property
    def network_label(self) -> str:
        if self.away:
            return f"another office's network ({AWAY_ADDRESS})"
        return f"the ISP's own network ({HOME_ADDRESS})"

    def set_away(self, away: bool, profile: Profile) -> Profile:
        """Move the demo ISP profile to another office's network (or back), rewriting its file."""
        self.away = away
        moved = profile._replace(source_address=AWAY_ADDRESS if away else HOME_ADDRESS)
        save_profile(moved)
        return moved

    def mailbox(self) -> list[tuple[str, Received]]:
        """Every message the demo servers received, oldest first, with the server's name."""
        return [("ISP", m) for m in self.isp.messages] + [
            ("portal", m) for m in self.portal.messages
        ]

    def close(self) -> None:
        self.thread.close()
        shutil.rmtree(self.home, ignore_errors=True)
