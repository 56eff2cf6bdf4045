"""What worked where: every attempt's outcome remembered against the network identity.

Kept in `networks.json` in the data folder, written atomically. It drives the profile
list's "worked here / failed here / not tried here" and the suggestion after a move.
"""

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from tui.core import locations
from tui.core.files import write_private
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
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or locations.networks_file()
        self._data: dict[str, Any] = self._load()

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"networks": {}}
        return (
            data
            if isinstance(data, dict) and isinstance(data.get("networks"), dict)
            else {"networks": {}}
        )

    def record(self, identity: NetworkIdentity, profile_id: str, result: AttemptResult) -> None:
        verdict = _TELLING.get(result.outcome)
        if verdict is None:
            return
        network = self._data["networks"].setdefault(identity.key, {"profiles": {}})
        network["description"] = identity.describe()
        if result.client_address:
            network["reported_address"] = result.client_address
        network["profiles"][profile_id] = {
            "verdict": verdict,
            "time": datetime.now().astimezone().isoformat(timespec="seconds"),
            "kind": result.diagnosis.kind if result.diagnosis else result.outcome.value,
        }
        write_private(self.path, json.dumps(self._data, indent=2).encode("utf-8"), sync=False)

    def here(self, identity: NetworkIdentity, profile_id: str) -> ProfileHere:
        entry = self._profiles(identity).get(profile_id)
        if not isinstance(entry, dict):
            return ProfileHere(None)
        return ProfileHere(
            entry.get("verdict"), str(entry.get("time", "")), str(entry.get("kind", ""))
        )

    def reported_address(self, identity: NetworkIdentity) -> str | None:
        network = self._data["networks"].get(identity.key) or {}
        value = network.get("reported_address")
        return str(value) if value else None

    def last_worked(self, identity: NetworkIdentity) -> str | None:
        """The profile that most recently worked on this network."""
        worked = [
            (entry.get("time", ""), profile_id)
            for profile_id, entry in self._profiles(identity).items()
            if isinstance(entry, dict) and entry.get("verdict") == WORKED
        ]
        return max(worked)[1] if worked else None

    def _profiles(self, identity: NetworkIdentity) -> dict[str, Any]:
        network = self._data["networks"].get(identity.key) or {}
        profiles = network.get("profiles")
        return profiles if isinstance(profiles, dict) else {}

    def best_alternative(
        self,
        current: Profile,
        profiles: Sequence[Profile],
        identity: NetworkIdentity,
        local_address: str | None = None,
    ) -> Profile | None:
        """The other profile most likely to work here: one that worked here, then one that
        logs in, then one whose networks include this one; never one that failed here."""

        def score(profile: Profile) -> float:
            here = self.here(identity, profile.id)
            if here.verdict == FAILED:
                return -1.0
            value = 0.0
            if here.verdict == WORKED:
                value += 4
            if profile.logs_in:
                value += 2
            elif profile.networks and not outside_networks(profile, local_address):
                value += 1
            else:
                value -= 0.5
            return value

        candidates = [p for p in profiles if p.id != current.id]
        ranked = sorted(candidates, key=score, reverse=True)
        return ranked[0] if ranked and score(ranked[0]) > 0 else None

    def score_for(self, identity: NetworkIdentity) -> Any:
        """A `prefer` function for diagnosis.suggest_profile: what worked here ranks first."""

        def prefer(profile: Profile) -> float:
            verdict = self.here(identity, profile.id).verdict
            return 2.0 if verdict == WORKED else (-1.0 if verdict == FAILED else 0.0)

        return prefer


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
    """Warn before sending with an IP-trusted profile from a network it does not list."""
    if profile.logs_in:
        return None
    reported = history.reported_address(identity)
    if not outside_networks(profile, local_address, reported):
        return None
    alternative = history.best_alternative(profile, profiles, identity, local_address)
    text = (
        f"This machine is at {local_address} on {identity.describe()}, outside the networks "
        f"where {profile.name} is trusted ({', '.join(profile.networks)}), so its server will "
        "probably refuse to relay."
    )
    if alternative is not None:
        text += f" {alternative.name} (profile {alternative.id}) should work from here."
    return TrustWarning(text, alternative)
