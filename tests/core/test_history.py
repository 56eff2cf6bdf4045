"""The attempt's transcript and record on disk: a disk that fills up or a folder that cannot
be written loses the transcript, never the outcome of the send."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.conftest import LeakGuard, isp_profile, run_cli
from tests.full_disk import full_folder
from tui.core import sending
from tui.core.history import AttemptRecorder
from tui.core.message import Draft
from tui.core.profiles import load_profile
from tui.core.results import ExitCode, Outcome
from tui.core.transcript import Mark, StateChange, make_event
from tui.demo.servers import RunningServer

DRAFT = Draft(to=("bob@example.org",), subject="Hello", body="Hi Bob,\n")
LINES = [
    make_event(Mark.INFO, "connecting to 127.0.0.1:25"),
    make_event(Mark.SERVER, "220 isp.example ESMTP"),
    StateChange("greeting", 0.1),
    make_event(Mark.CLIENT, "EHLO laptop.example"),
    make_event(Mark.SERVER, "250 OK"),
]


def _record_everything(recorder: AttemptRecorder) -> None:
    for event in LINES:
        recorder(event)
    recorder.finish({"outcome": "sent", "exit_code": 0})


def test_recorder_saves_the_transcript_and_the_record(tmp_path: Path) -> None:
    recorder = AttemptRecorder("20250101T000000.000000-abcd", tmp_path / "transcripts")
    _record_everything(recorder)
    assert recorder.warning is None
    assert recorder.log_path.read_text().count("\n") == 4
    assert (recorder.log_path.stat().st_mode & 0o777) == 0o600
    record = json.loads(recorder.record_path.read_text())
    assert record["id"] == recorder.attempt_id
    assert record["outcome"] == "sent"
    assert "transcript_error" not in record


def test_a_full_disk_under_the_transcript_is_a_warning(tmp_path: Path) -> None:
    """/dev/full answers every write with ENOSPC, as a disk that filled up does."""
    folder = tmp_path / "transcripts"
    folder.mkdir()
    recorder = AttemptRecorder("20250101T000000.000000-abcd", folder)
    recorder.log_path.symlink_to("/dev/full")
    _record_everything(recorder)  # must not raise
    assert recorder.warning is not None
    assert "No space left on device" in recorder.warning
    assert str(recorder.log_path) in recorder.warning
    assert "\n" not in recorder.warning
    # The record is a separate file in a folder that still takes it: it is kept, and says
    # why its transcript is missing.
    record = json.loads(recorder.record_path.read_text())
    assert record["outcome"] == "sent"
    assert record["transcript_error"] == "No space left on device"


def test_a_real_full_disk_is_a_warning(tmp_path: Path) -> None:
    with full_folder(tmp_path / "transcripts") as folder:
        recorder = AttemptRecorder("20250101T000000.000000-abcd", folder)
        _record_everything(recorder)  # must not raise
        assert recorder.warning is not None
        assert "No space left on device" in recorder.warning
        assert "transcript" in recorder.warning
        assert not recorder.record_path.exists()
        assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]  # no half files


def test_a_folder_that_cannot_exist_is_a_warning(tmp_path: Path) -> None:
    """A regular file where a folder should be stops root as well as anyone."""
    (tmp_path / "data").write_text("not a folder")
    recorder = AttemptRecorder("20250101T000000.000000-abcd", tmp_path / "data" / "transcripts")
    _record_everything(recorder)  # must not raise
    assert recorder.warning is not None
    assert "could not be saved" in recorder.warning
    assert "Not a directory" in recorder.warning or "File exists" in recorder.warning


def test_the_recorder_stops_writing_after_the_first_error(tmp_path: Path) -> None:
    folder = tmp_path / "transcripts"
    folder.mkdir()
    recorder = AttemptRecorder("20250101T000000.000000-abcd", folder)
    recorder.log_path.symlink_to("/dev/full")
    recorder(LINES[0])
    first = recorder.warning
    opened = len(os.listdir(f"/proc/{os.getpid()}/fd"))
    for event in LINES:
        recorder(event)
    assert recorder.warning == first  # the first problem is the one reported
    assert len(os.listdir(f"/proc/{os.getpid()}/fd")) <= opened  # nothing left open


def _one_copy_in_sent(home: Path) -> None:
    copies = [p for p in (home / "sent").rglob("*") if p.is_file()]
    assert len(copies) == 1, copies
    outbox = [p for p in (home / "outbox").rglob("*") if p.is_file()]
    assert outbox == [], outbox


async def test_send_is_sent_when_nothing_about_it_can_be_saved(
    home: Path, isp_server: RunningServer
) -> None:
    """The transcripts folder is a regular file and networks.json a folder: the message
    still goes once, lands in sent/, and the send reports success."""
    (home / "transcripts").write_text("in the way")
    (home / "networks.json").mkdir()
    profile = load_profile(isp_profile(home, isp_server))
    result = await sending.send(profile, DRAFT)
    assert result.outcome is Outcome.SENT, result.summary
    assert result.exit_code == ExitCode.OK
    assert len(isp_server.messages) == 1
    _one_copy_in_sent(home)


async def test_send_is_sent_when_the_transcripts_disk_is_full(
    home: Path, isp_server: RunningServer
) -> None:
    profile = load_profile(isp_profile(home, isp_server))
    with full_folder(home / "transcripts"):
        result = await sending.send(profile, DRAFT)
    assert result.outcome is Outcome.SENT, result.summary
    assert result.exit_code == ExitCode.OK
    assert len(isp_server.messages) == 1
    _one_copy_in_sent(home)


def test_cli_send_exits_0_when_the_transcript_cannot_be_saved(
    home: Path, isp_server: RunningServer, leak_guard: LeakGuard
) -> None:
    (home / "transcripts").write_text("in the way")
    isp_profile(home, isp_server)
    result = run_cli(
        leak_guard, "send", "--profile", "isp", "--to", "bob@example.org", "--subject", "Hi"
    )
    assert "Traceback" not in result.err, result.err
    assert result.code == 0, result.err
    assert len(isp_server.messages) == 1
    _one_copy_in_sent(home)
