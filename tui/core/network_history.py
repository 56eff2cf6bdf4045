"""What worked where: every attempt's outcome remembered against the network identity.

Kept in `networks.json` in the data folder, shared by every mailtui process: changed under a
lock, written atomically. It drives the profile list's "worked here / failed here / not tried
here" and the suggestion after a move.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from tui.core import locations
from tui.core.files import exclusive_lock, write_private
from tui.core.network import NetworkIdentity, outside_networks
from tui.core.profiles import Profile
from tui.core.results import AttemptResult, Outcome

WORKED = "worked"
FAILED = "failed"
# Outcomes that say something about this network; a cancelled send or bad input does not.
_TELLING = {
    Outcome.SENT: WORKED,
    Outcome.PARTIAL: WORKED,
    Outcome.WOULD_WORK: WORKED,
    Outcome.REFUSED: FAILED,
    Outcome.AUTH_FAILED: FAILED,
    Outcome.TLS_FAILED: FAILED,
    Outcome.FAILED: FAILED,
    Outcome.TEMPORARY: FAILED,
}


class ProfileHere(NamedTuple):
    """How a profile did on one network: "worked", "failed" or None (not tried here)."""

    verdict: str | None
    time: str = ""
    kind: str = ""

    @property
    def label(self) -> str:
        if self.verdict == WORKED:
            return "worked here"
        if self.verdict == FAILED:
            return "failed here"
        return "not tried here"


class NetworkHistory:
    """What worked where, shared by every mailtui process through `networks.json`.

    Keep one per process. Reads use an in-memory copy that is read again whenever the file
    was replaced (one `stat` per read), so the app sees what `mailtui send` recorded.
    `record` merges this process's one change into the file under an exclusive lock on
    `networks.json.lock`, so two processes never overwrite each other's outcomes. Nothing
    here raises for I/O: a corrupt file reads as empty (and is kept as `networks.json.bad`
    when replaced), and `record` answers a problem with a one-line warning.
    """

    def __init__(self, path: Path | None = None, *, lock_timeout: float = 2.0) -> None:
        self.path = path or locations.networks_file()
        self.lock_timeout = lock_timeout
        # Why the most recent `record` could not be saved, or None when it was.
        self.warning: str | None = None
        self._data: dict[str, Any] = {"networks": {}}
        self._seen: _Signature | None = None  # the file version `_data` was read from

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    def record(
        self, identity: NetworkIdentity, profile_id: str, result: AttemptResult
    ) -> str | None:
        """Remember how `profile_id` did on this network; None when saved, else a warning.

        The warning (e.g. "what worked on this network could not be saved to …: No space left
        on device") is for the person; the outcome of the send does not depend on it. This
        process remembers the verdict anyway until the file changes.
        """
        verdict = _TELLING.get(result.outcome)
        if verdict is None:
            self.warning = None
            return None
        change = _Change(
            identity.key,
            identity.describe(),
            result.client_address,
            profile_id,
            {
                "verdict": verdict,
                "time": datetime.now().astimezone().isoformat(timespec="seconds"),
                "kind": result.diagnosis.kind if result.diagnosis else result.outcome.value,
            },
        )
        try:
            with exclusive_lock(self.lock_path, self.lock_timeout):
                data = self._read_for_update()
                change.apply(data)
                write_private(self.path, json.dumps(data, indent=2).encode("utf-8"), sync=False)
                self._data, self._seen = data, _signature(self.path)
        except TimeoutError:  # before OSError: it is one
            self.warning = (
                f"what worked on this network could not be saved to {self.path}: another "
                f"mailtui process kept it locked for over {self.lock_timeout:g} s"
            )
        except OSError as exc:
            self.warning = (
                "what worked on this network could not be saved to "
                f"{self.path}: {exc.strerror or exc}"
            )
        else:
            self.warning = None
        if self.warning is not None:
            change.apply(self._data)
        return self.warning

    def _read_for_update(self) -> dict[str, Any]:
        """The file as it is now (under the lock). A corrupt one is moved aside to `.bad`;
        one that cannot be read raises, since writing over it would lose what it holds."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return _empty()
        data = _parse(raw)
        if data is None:
            with contextlib.suppress(OSError):
                os.replace(self.path, self.path.with_name(self.path.name + ".bad"))
            return _empty()
        return data

    def _networks(self) -> dict[str, Any]:
        """Every network's entry, read again if the file was replaced since last time."""
        seen = _signature(self.path)
        if seen != self._seen:
            self._data, self._seen = self._load()
        networks: dict[str, Any] = self._data["networks"]
        return networks

    def _load(self) -> tuple[dict[str, Any], _Signature | None]:
        try:
            with open(self.path, "rb") as handle:
                seen = _Signature.of(os.fstat(handle.fileno()))
                raw = handle.read()
        except FileNotFoundError:
            return _empty(), None
        except OSError:
            return _empty(), _signature(self.path)
        return _parse(raw) or _empty(), seen

    def _network(self, identity: NetworkIdentity) -> dict[str, Any]:
        network = self._networks().get(identity.key)
        return network if isinstance(network, dict) else {}

    def here(self, identity: NetworkIdentity, profile_id: str) -> ProfileHere:
        entry = self._profiles(identity).get(profile_id)
        if not isinstance(entry, dict):
            return ProfileHere(None)
        verdict = entry.get("verdict")
        return ProfileHere(
            verdict if verdict in (WORKED, FAILED) else None,
            str(entry.get("time", "")),
            str(entry.get("kind", "")),
        )

    def reported_address(self, identity: NetworkIdentity) -> str | None:
        value = self._network(identity).get("reported_address")
        return str(value) if value else None

    def last_worked(self, identity: NetworkIdentity) -> str | None:
        """The profile that most recently worked on this network."""
        worked = [
            (str(entry.get("time", "")), profile_id)
            for profile_id, entry in self._profiles(identity).items()
            if isinstance(entry, dict) and entry.get("verdict") == WORKED
        ]
        return max(worked)[1] if worked else None

    def _profiles(self, identity: NetworkIdentity) -> dict[str, Any]:
        profiles = self._network(identity).get("profiles")
        return profiles if isinstance(profiles, dict) else {}

    def best_alternative(
        self,
        current: Profile,
        profiles: Sequence[Profile],
        identity: NetworkIdentity,
        local_address: str | None = None,
    ) -> Profile | None:
        """The other profile most likely to work here (diagnosis.suggest_profile, the one
        ranker): what worked here first, never what failed here."""
        from tui.core.diagnosis import suggest_profile

        def trusted_here(profile: Profile) -> bool:
            return bool(profile.networks) and not outside_networks(profile, local_address)

        return suggest_profile(current, profiles, self.score_for(identity), trusted_here)

    def worked_elsewhere(self, identity: NetworkIdentity, profile_id: str) -> bool:
        """Whether `profile_id` worked on some other network than this one."""
        networks = self._networks()
        return any(
            key != identity.key
            and isinstance(network, dict)
            and isinstance(network.get("profiles"), dict)
            and isinstance(network["profiles"].get(profile_id), dict)
            and network["profiles"][profile_id].get("verdict") == WORKED
            for key, network in networks.items()
        )

    def score_for(self, identity: NetworkIdentity) -> Any:
        """A `prefer` function for diagnosis.suggest_profile: what worked here ranks first."""

        def prefer(profile: Profile) -> float:
            verdict = self.here(identity, profile.id).verdict
            return 2.0 if verdict == WORKED else (-1.0 if verdict == FAILED else 0.0)

        return prefer


class _Signature(NamedTuple):
    """Which version of the file: `write_private` renames a new file in, so the inode
    changes on every write even within one mtime tick."""

    inode: int
    mtime_ns: int
    size: int

    @classmethod
    def of(cls, status: os.stat_result) -> _Signature:
        return cls(status.st_ino, status.st_mtime_ns, status.st_size)


def _signature(path: Path) -> _Signature | None:
    try:
        return _Signature.of(os.stat(path))
    except OSError:
        return None


def _empty() -> dict[str, Any]:
    return {"networks": {}}


def _parse(raw: bytes) -> dict[str, Any] | None:
    """The file's content, or None when it is not a networks file at all."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError:
        return None
    if isinstance(data, dict) and isinstance(data.get("networks"), dict):
        return data
    return None


class _Change(NamedTuple):
    """One process's change to the file: one profile's verdict on one network."""

    key: str
    description: str
    reported_address: str | None
    profile_id: str
    entry: dict[str, str]

    def apply(self, data: dict[str, Any]) -> None:
        networks: dict[str, Any] = data["networks"]
        network = networks.get(self.key)
        if not isinstance(network, dict):
            network = networks[self.key] = {}
        network["description"] = self.description
        if self.reported_address:
            network["reported_address"] = self.reported_address
        profiles = network.get("profiles")
        if not isinstance(profiles, dict):
            profiles = network["profiles"] = {}
        profiles[self.profile_id] = self.entry


class TrustWarning(NamedTuple):
    """A profile that sends on trust by network, used from outside its networks."""

    text: str
    alternative: Profile | None


def trust_warning(
    profile: Profile,
    profiles: Sequence[Profile],
    identity: NetworkIdentity,
    local_address: str | None,
    history: NetworkHistory,
) -> TrustWarning | None:
    """Warn before sending with an IP-trusted profile from a network it does not list, unless
    it last worked on this very network: there, the server trusts it whatever the list says."""
    if profile.logs_in or history.here(identity, profile.id).verdict == WORKED:
        return None
    reported = history.reported_address(identity)
    if not outside_networks(profile, local_address, reported):
        return None
    alternative = history.best_alternative(profile, profiles, identity, local_address)
    import ipaddress

    loopback = (
        local_address is not None
        and ipaddress.ip_address(local_address).is_loopback
        and not identity.label  # the demo names the network it plays
    )
    # A server on this machine is reached over loopback, whatever network the machine is on.
    where = (
        f"This machine reaches {profile.host} from {local_address} (over loopback)"
        if loopback
        else f"This machine is at {local_address} on {identity.describe()}"
    )
    text = (
        f"{where}, outside the networks where {profile.name} is trusted "
        f"({', '.join(profile.networks)}), so its server will probably refuse to relay."
    )
    if alternative is not None:
        text += f" {alternative.name} (profile {alternative.id}) should work from here."
    return TrustWarning(text, alternative)
