"""Which providers file sent mail in their Sent folder themselves (Gmail, Outlook.com…).

Found once, by the Sent copy (tui/core/sent_copy.py) seeing the Message-ID there before it
appended anything, and remembered per profile in `sent-copy.json` so that later sends neither
search nor wait. The entry names the IMAP account it was found on: a profile pointed at
another server or login is asked again. Written atomically under a lock, like networks.json;
a file that cannot be read or written only means the question is asked again.
"""

from __future__ import annotations

import contextlib
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from tui.core import locations
from tui.core.files import exclusive_lock, write_private
from tui.core.profiles import Profile


def account(profile: Profile) -> str | None:
    """The IMAP account a profile copies to, as the file names it: user@host:port."""
    if profile.imap is None:
        return None
    return f"{profile.imap_username}@{profile.imap.server}"


class ProviderMemory:
    def __init__(self, path: Path | None = None, *, lock_timeout: float = 2.0) -> None:
        self.path = path or locations.provider_memory_file()
        self.lock_timeout = lock_timeout

    def saves_itself(self, profile: Profile) -> str | None:
        """The Sent folder the profile's provider files sent mail in by itself, or None when
        that is not known (for this IMAP account)."""
        entry = self._read().get(profile.id)
        if not isinstance(entry, dict) or entry.get("account") != account(profile):
            return None
        folder = entry.get("folder")
        return folder if isinstance(folder, str) else None

    def remember(self, profile: Profile, folder: str) -> str | None:
        """Note that the provider files sent mail in `folder` itself; a warning when the file
        could not be written (the copy's outcome does not depend on it)."""
        entry = {
            "account": account(profile),
            "folder": folder,
            "since": datetime.now().astimezone().isoformat(timespec="seconds"),
        }
        return self._change(lambda profiles: profiles.__setitem__(profile.id, entry))

    def forget(self, profile_id: str) -> str | None:
        """Ask again next time (the person says the provider stopped filing sent mail)."""
        return self._change(lambda profiles: profiles.pop(profile_id, None))

    def _change(self, change: Any) -> str | None:
        lock = self.path.with_name(self.path.name + ".lock")
        try:
            with exclusive_lock(lock, self.lock_timeout):
                profiles = self._read()
                change(profiles)
                data = {"provider_saves_sent": profiles}
                write_private(self.path, json.dumps(data, indent=2).encode(), sync=False)
        except TimeoutError:
            return f"{self.path} stayed locked by another mailtui process; not remembered"
        except OSError as exc:
            return f"could not remember it in {self.path} ({exc.strerror or exc})"
        return None

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_bytes())
        except OSError:
            return {}
        except ValueError:
            with contextlib.suppress(OSError):  # kept aside, as networks.json is
                os.replace(self.path, self.path.with_name(self.path.name + ".bad"))
            return {}
        profiles = data.get("provider_saves_sent") if isinstance(data, dict) else None
        return profiles if isinstance(profiles, dict) else {}
