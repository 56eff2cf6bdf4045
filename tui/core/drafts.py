"""Drafts: what is being composed, kept in the `drafts/` Maildir so nothing typed is lost.

A draft file is a readable message (To, Cc, Bcc, Subject and the body), plus mailtui's own
X-Mailtui-* headers for the profile and the attachment paths. The app saves its form here
every few seconds while it changes; a message that failed for good goes here from the
command line.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from typing import NamedTuple

from tui.core import locations, maildir
from tui.core.message import Draft, has_control

AUTOSAVE = "X-Mailtui-Autosave"


class SavedDraft(NamedTuple):
    id: str
    path: Path
    draft: Draft
    profile_id: str | None
    autosave: bool
    saved_at: str


def _header(name: str, value: str) -> str:
    # Nothing typed in a single-line field holds a line break, but a draft must never let
    # one turn into a header of its own.
    return f"{name}: {' '.join(value.split()) if has_control(value) else value}"


def render(draft: Draft, profile_id: str | None, autosave: bool) -> bytes:
    lines = [_header("Date", format_datetime(datetime.now().astimezone()))]
    for name, values in (("To", draft.to), ("Cc", draft.cc), ("Bcc", draft.bcc)):
        if values:
            lines.append(_header(name, ", ".join(values)))
    lines.append(_header("Subject", draft.subject))
    if profile_id:
        lines.append(_header("X-Mailtui-Profile", profile_id))
    for path in draft.attachments:
        lines.append(_header("X-Mailtui-Attachment", str(path)))
    if autosave:
        lines.append(f"{AUTOSAVE}: yes")
    lines += [
        "MIME-Version: 1.0",
        'Content-Type: text/plain; charset="utf-8"',
        "Content-Transfer-Encoding: 8bit",
        "",
        draft.body,
    ]
    return "\n".join(lines).encode("utf-8")


def parse(data: bytes) -> tuple[Draft, str | None, bool, str]:
    text = data.decode("utf-8", "replace")
    head, _, body = text.partition("\n\n")
    fields: dict[str, list[str]] = {}
    for line in head.splitlines():
        name, _, value = line.partition(":")
        fields.setdefault(name.strip().lower(), []).append(value.strip())

    def one(name: str) -> str:
        return fields.get(name, [""])[0]

    draft = Draft(
        to=tuple(fields.get("to", [])),
        cc=tuple(fields.get("cc", [])),
        bcc=tuple(fields.get("bcc", [])),
        subject=one("subject"),
        body=body,
        attachments=tuple(Path(p) for p in fields.get("x-mailtui-attachment", [])),
    )
    return draft, one("x-mailtui-profile") or None, one(AUTOSAVE.lower()) == "yes", one("date")


class Drafts:
    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or locations.drafts_dir()

    def save(
        self, draft: Draft, profile_id: str | None, name: str | None = None, autosave: bool = False
    ) -> str:
        """Save (or, with `name`, replace) a draft; returns its id."""
        before = maildir.find(self.folder, name) if name else None
        path = maildir.deliver(self.folder, render(draft, profile_id, autosave), name=name)
        if before is not None and before != path:  # it was in cur/ (a mail reader saw it)
            before.unlink(missing_ok=True)
        return maildir.base_name(path)

    def match(self, wanted: str) -> list[SavedDraft]:
        """The drafts `wanted` names: the one whose id it is, else every draft whose id
        starts with it (a short id is enough when no other draft shares it)."""
        drafts = self.list()
        exact = [d for d in drafts if d.id == wanted]
        return exact or [d for d in drafts if wanted and d.id.startswith(wanted)]

    def list(self) -> list[SavedDraft]:
        found = []
        for path in maildir.messages(self.folder):
            try:
                draft, profile_id, autosave, date = parse(path.read_bytes())
            except OSError:
                continue
            found.append(
                SavedDraft(maildir.base_name(path), path, draft, profile_id, autosave, date)
            )
        return found

    def remove(self, draft_id: str) -> None:
        path = maildir.find(self.folder, draft_id)
        if path is not None:
            path.unlink(missing_ok=True)
