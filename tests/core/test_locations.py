"""Folders under the data folder: created private, and never through a symbolic link."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.conftest import Transcript, isp_profile
from tui.core import maildir, sending
from tui.core.message import Draft
from tui.core.profiles import load_profile
from tui.core.results import ExitCode
from tui.demo.servers import RunningServer


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_symlinked_outbox_is_refused_not_followed(
    home: Path, tmp_path: Path, plain_server: RunningServer, transcript: Transcript
) -> None:
    """A link in place of outbox/ would have mailtui chmod a folder elsewhere to 0700 and
    file private mail into it."""
    elsewhere = tmp_path / "shared"
    elsewhere.mkdir()
    elsewhere.chmod(0o755)
    (home / "outbox").symlink_to(elsewhere)
    profile = load_profile(isp_profile(home, plain_server))
    draft = Draft(to=("bob@example.org",), subject="Linked", body="Hello\n")
    result = await sending.send(profile, draft, listener=transcript, probe=())
    assert result.exit_code == ExitCode.IOERR
    assert "symbolic link" in result.summary and str(home / "outbox") in result.summary
    assert _mode(elsewhere) == 0o755  # not chmodded
    assert list(elsewhere.iterdir()) == []  # nothing filed there
    assert plain_server.messages == []  # not sent without its safe copy


@pytest.mark.parametrize("sub", ["", "new"])
def test_a_maildir_with_a_linked_folder_is_refused(tmp_path: Path, sub: str) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    elsewhere.chmod(0o755)
    folder = tmp_path / "sent"
    if sub:
        folder.mkdir()
        (folder / sub).symlink_to(elsewhere)
    else:
        folder.symlink_to(elsewhere)
    with pytest.raises(OSError, match="symbolic link"):
        maildir.deliver(folder, b"Subject: x\r\n\r\nbody\r\n")
    assert _mode(elsewhere) == 0o755
    assert list(elsewhere.iterdir()) == []


def test_the_data_folder_itself_may_be_a_link(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The root is the person's choice (another disk, say): it is followed, its folders not."""
    from tui.core import locations

    real = tmp_path / "real-home"
    real.mkdir()
    link = tmp_path / "linked-home"
    link.symlink_to(real)
    monkeypatch.setenv("MAILTUI_HOME", str(link))
    assert locations.ensure_private_dir(link) == link
    assert _mode(real) == 0o700
    maildir.deliver(locations.sent_dir(), b"Subject: x\r\n\r\nbody\r\n")
    assert len(list(maildir.messages(real / "sent"))) == 1
