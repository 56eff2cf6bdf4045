"""networks.json under faults: a full disk, a corrupt file, and several processes at once."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, isp_profile
from tests.full_disk import full_folder
from tui.core import sending
from tui.core.message import Draft
from tui.core.network import NetworkIdentity
from tui.core.network_history import NetworkHistory
from tui.core.profiles import load_profile
from tui.core.results import AttemptResult, ExitCode, Outcome
from tui.demo.servers import RunningServer

OFFICE = NetworkIdentity("10.20.0.5", "10.20.0.0/16", "10.20.0.1")
SENT = AttemptResult(Outcome.SENT, ExitCode.OK, "", client_address="203.0.113.9")
REFUSED = AttemptResult(Outcome.REFUSED, ExitCode.UNAVAILABLE, "")


def test_record_on_a_full_disk_is_a_warning(tmp_path: Path) -> None:
    with full_folder(tmp_path / "data") as folder:
        history = NetworkHistory(folder / "networks.json")
        warning = history.record(OFFICE, "isp", SENT)  # must not raise
        assert warning is not None
        assert "No space left on device" in warning
        assert history.warning == warning
        assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
        # What this process learnt still counts for this process.
        assert history.here(OFFICE, "isp").verdict == "worked"


def test_record_in_a_folder_that_cannot_exist_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("not a folder")
    history = NetworkHistory(tmp_path / "data" / "networks.json")
    warning = history.record(OFFICE, "isp", SENT)  # must not raise
    assert warning is not None and "could not be saved" in warning
    assert "\n" not in warning
    assert history.warning == warning


def test_a_warning_is_cleared_by_the_next_good_record(tmp_path: Path) -> None:
    path = tmp_path / "networks.json"
    path.mkdir()  # in the way
    history = NetworkHistory(path)
    assert history.record(OFFICE, "isp", SENT) is not None
    path.rmdir()
    assert history.record(OFFICE, "isp", SENT) is None
    assert history.warning is None
    assert NetworkHistory(path).here(OFFICE, "isp").verdict == "worked"


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "\xff\xfe",
        "[]",
        '{"networks": []}',
        '{"networks": {"10.20.0.0/16 via 10.20.0.1": {}}}',
        '{"networks": {"10.20.0.0/16 via 10.20.0.1": []}}',
        '{"networks": {"10.20.0.0/16 via 10.20.0.1": {"profiles": "x"}}}',
    ],
)
def test_a_corrupt_file_crashes_nothing(tmp_path: Path, content: str) -> None:
    path = tmp_path / "networks.json"
    path.write_bytes(content.encode("latin-1"))
    history = NetworkHistory(path)
    assert history.here(OFFICE, "isp").verdict is None
    assert history.last_worked(OFFICE) is None
    assert history.reported_address(OFFICE) is None
    assert history.record(OFFICE, "isp", SENT) is None
    assert NetworkHistory(path).here(OFFICE, "isp").verdict == "worked"
    json.loads(path.read_text())  # a valid file again


def test_an_unreadable_file_is_kept_as_bad(tmp_path: Path) -> None:
    path = tmp_path / "networks.json"
    path.write_text("{not json")
    assert NetworkHistory(path).record(OFFICE, "isp", SENT) is None
    assert (tmp_path / "networks.json.bad").read_text() == "{not json"
    assert json.loads(path.read_text())["networks"][OFFICE.key]["profiles"]["isp"]


def test_two_histories_merge_instead_of_overwriting(tmp_path: Path) -> None:
    """The app and `mailtui send` each hold a history: neither loses the other's outcome."""
    path = tmp_path / "networks.json"
    app, cli = NetworkHistory(path), NetworkHistory(path)
    assert app.here(OFFICE, "isp").verdict is None  # the app has read the (empty) file
    app.record(OFFICE, "isp", REFUSED)
    cli.record(OFFICE, "portal", SENT)
    again = NetworkHistory(path)
    assert again.here(OFFICE, "isp").verdict == "failed"
    assert again.here(OFFICE, "portal").verdict == "worked"
    assert again.reported_address(OFFICE) == "203.0.113.9"
    # The app sees what the command line recorded without being re-created.
    assert app.here(OFFICE, "portal").verdict == "worked"
    assert app.last_worked(OFFICE) == "portal"


def test_files_are_private(tmp_path: Path) -> None:
    path = tmp_path / "networks.json"
    NetworkHistory(path).record(OFFICE, "isp", SENT)
    assert (path.stat().st_mode & 0o777) == 0o600
    lock = tmp_path / "networks.json.lock"
    assert (lock.stat().st_mode & 0o777) == 0o600


def test_a_lock_held_too_long_is_a_warning_not_a_hang(tmp_path: Path) -> None:
    path = tmp_path / "networks.json"
    history = NetworkHistory(path, lock_timeout=0.3)
    history.record(OFFICE, "isp", SENT)
    fd = os.open(tmp_path / "networks.json.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        started = time.monotonic()
        warning = history.record(OFFICE, "portal", SENT)
        assert time.monotonic() - started < 3
    finally:
        os.close(fd)
    assert warning is not None and "another mailtui" in warning
    assert NetworkHistory(path).here(OFFICE, "portal").verdict is None  # not written blind


WRITER = """
import sys, time
from pathlib import Path
from tui.core.network import NetworkIdentity
from tui.core.network_history import NetworkHistory
from tui.core.results import AttemptResult, ExitCode, Outcome

path, name, rounds, go = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
identity = NetworkIdentity("10.20.0.5", "10.20.0.0/16", "10.20.0.1")
history = NetworkHistory(path)
history.here(identity, "anything")  # read the file once, as the app does at start
while not go.exists():
    time.sleep(0.001)
for i in range(rounds):
    outcome = Outcome.SENT if i % 2 else Outcome.REFUSED
    warning = history.record(identity, f"{name}-{i}", AttemptResult(outcome, 0, ""))
    assert warning is None, warning
"""


def test_two_processes_recording_at_once_lose_nothing(tmp_path: Path) -> None:
    path, go, rounds = tmp_path / "networks.json", tmp_path / "go", 200
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), name, str(rounds), str(go)],
            cwd=REPO,
            stderr=subprocess.PIPE,
        )
        for name in ("app", "cli")
    ]
    time.sleep(1.0)  # both have started and read the file
    go.touch()
    for writer in writers:
        _out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err.decode()
    # Every round recorded its own profile, so every single update must be there.
    history = NetworkHistory(path)
    lost = [
        f"{name}-{i}"
        for name in ("app", "cli")
        for i in range(rounds)
        if history.here(OFFICE, f"{name}-{i}").verdict != ("worked" if i % 2 else "failed")
    ]
    assert lost == [], f"{len(lost)} updates lost: {lost[:10]}"


async def test_send_is_sent_when_networks_json_cannot_be_written(
    home: Path, isp_server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC on networks.json after the server accepted: sent, once, with a copy in sent/."""
    from tui.core import network_history

    def full(path: Path, data: bytes, sync: bool = True) -> None:
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(network_history, "write_private", full)
    history = NetworkHistory()
    profile = load_profile(isp_profile(home, isp_server))
    result = await sending.send(
        profile, Draft(to=("bob@example.org",), subject="s", body="b"), history=history
    )
    assert result.outcome is Outcome.SENT, result.summary
    assert result.exit_code == ExitCode.OK
    assert len(isp_server.messages) == 1
    assert len([p for p in (home / "sent").rglob("*") if p.is_file()]) == 1
    assert history.warning is not None and "No space left on device" in history.warning


def test_a_server_on_this_machine_is_not_said_to_be_on_another_network(tmp_path: Path) -> None:
    from tui.core.network import NetworkIdentity
    from tui.core.network_history import NetworkHistory, trust_warning
    from tui.core.profiles import Profile

    profile = Profile(
        id="isp",
        name="Home ISP",
        from_="jane@isp.example",
        host="127.0.0.1",
        security="none",
        networks=("192.168.1.0/24",),
    )
    office = NetworkIdentity("192.0.2.7", "192.0.2.0/24", "192.0.2.1")
    warning = trust_warning(
        profile, (profile,), office, "127.0.0.1", NetworkHistory(tmp_path / "n.json")
    )
    assert warning is not None
    assert "over loopback" in warning.text and "192.0.2.0/24" not in warning.text
