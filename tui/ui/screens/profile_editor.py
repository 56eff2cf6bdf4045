"""Create, edit and duplicate a profile, with every field of the contract, validated as typed.

"Check" runs the core's pre-flight on what is in the form and streams it into the pane
beside it; "Check IMAP" logs in to the `[imap]` server the form describes and names the Sent
folder it found, its lines in the same pane; "Save" writes the TOML file through the core
(atomic, 0600).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, Select, Static

from tui.core import sending
from tui.core.profiles import (
    AUTH_VALUES,
    BEARER_METHODS,
    DEFAULT_PORTS,
    IMAP_DEFAULT_PORTS,
    PROFILE_ID_RE,
    Profile,
    ProfileError,
    check_field,
    imap_to_toml,
    load_profiles,
    parse_profile,
    profile_to_toml,
    save_profile,
)
from tui.core.secrets import store_in_keyring
from tui.core.transcript import SessionEvent
from tui.ui.widgets.transcript_pane import TranscriptPane

TEXT_FIELDS: list[tuple[str, str, str]] = [
    # (key, label, placeholder)
    ("name", "Name", "e.g. Home ISP"),
    ("from", "From", "e.g. Jane Doe <jane@isp.example>"),
    ("host", "Server", "e.g. smtp.isp.example"),
    ("port", "Port", ""),
    ("username", "Username", "e.g. jane"),
    ("password_command", "Password cmd", "optional, e.g. pass show isp"),
    ("ca_file", "CA file", "optional, e.g. /path/to/ca.pem"),
    ("tls_fingerprint", "Pin", "optional, e.g. sha256:AB:CD:…"),
    ("networks", "Networks", "optional, e.g. 192.168.1.0/24, 10.0.0.0/8"),
    ("source_address", "Source addr", "optional, e.g. 192.168.1.7"),
    ("helo", "EHLO name", "optional, e.g. laptop.example"),
    ("timeout", "Timeout (s)", "30 (default)"),
]
LOGIN_ONLY = ("username", "password_command", "secret")
# Kept from the file, not in the form (token_command and [oauth] only with a token login).
UNSHOWN = ("password", "addresses", "default", "token_command", "oauth")
# The [imap] table's keys in the form (key, label, placeholder); those in SELECTS as
# "imap-KEY" are choices. Its other keys (IMAP_UNSHOWN) are kept from the file.
IMAP_FIELDS: list[tuple[str, str, str]] = [
    ("host", "IMAP server", "optional, e.g. imap.isp.example (empty: no copy in Sent)"),
    ("security", "IMAP security", ""),
    ("port", "IMAP port", "993 (default)"),
    ("username", "IMAP user", "the SMTP username (default)"),
    ("folder", "Sent folder", "found on the server (default)"),
    ("copy", "Copy to Sent", ""),
]
IMAP_UNSHOWN = ("password_command", "ca_file", "tls_fingerprint")
SELECTS: dict[str, list[tuple[str, str]]] = {
    "provider": [("ISP (trusts its own network)", "isp"), ("Web portal (login)", "portal")],
    "security": [
        ("STARTTLS (required, never falls back)", "starttls"),
        ("Implicit TLS (port 465)", "tls"),
        ("None (plain text)", "none"),
    ],
    "auth": [
        ("None: trusted by network", "none"),
        *[(f"Login: {m}", m) for m in AUTH_VALUES if m != "none"],
    ],
    "imap-security": [
        ("Implicit TLS (port 993)", "tls"),
        ("STARTTLS (port 143, required)", "starttls"),
    ],
    "imap-copy": [
        ("Auto: unless the provider files it in Sent itself", "auto"),
        ("Always", "always"),
        ("Never (the table is kept, no copy is made)", "never"),
    ],
}


# How the editor asks for a profile's password: given by whoever opens it (the app).
PasswordLookup = Callable[[Profile], Awaitable[str | None]]


class ProfileEditor(Screen[Profile | None]):
    """Dismisses with the saved profile, or None when cancelled."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="editor.save"),
        Binding("f4", "check", "Check", id="editor.check"),
        Binding("f5", "check_imap", "Check IMAP", id="editor.check-imap"),
        Binding("escape", "cancel", "Cancel", id="editor.cancel"),
        Binding("f6", "sign_in", "Sign in", id="editor.sign-in"),
    ]

    def __init__(
        self,
        profile: Profile | None = None,
        new_id: str | None = None,
        password_for: PasswordLookup | None = None,
        found: Sequence[tuple[str, str, str]] = (),
        address: str = "",
    ) -> None:
        """Edit `profile`; with `new_id`, save it under that id (new or duplicate).
        `password_for` finds a profile's password for the Check (its sources, else a prompt).
        `found`: (setting, value, where it came from) of settings discovery found, shown
        above the form; `address`: the From of a new empty form."""
        super().__init__()
        self.found = tuple(found)
        self.address = address
        self.password_for = password_for
        self.original = profile
        self.new_id = new_id
        self.profile_id = new_id or (profile.id if profile else "")
        self._provider: object = profile.provider if profile else "isp"  # as last seen
        self._check_run = 0  # which check the lines arriving from an IMAP thread belong to

    def compose(self) -> ComposeResult:
        title = (
            f"Edit profile {self.profile_id}"
            if self.original and not self.new_id
            else "New profile"
        )
        with Horizontal(id="editor-body"):
            with VerticalScroll(id="editor-form"):
                yield Static(Text(title, style="bold"), id="editor-title")
                if self.found:
                    yield Static(found_text(self.found), id="editor-found", classes="hint")
                with Vertical(classes="efield", id="row-id"):
                    with Horizontal(classes="erow"):
                        yield Label("Profile id", classes="name")
                        yield Input(
                            self.profile_id,
                            id="f-id",
                            placeholder="e.g. home-isp (the file name)",
                            disabled=bool(self.original and not self.new_id),
                        )
                    yield Static(classes="ferror", id="e-id")
                for key in ("provider", "security", "auth"):
                    with Vertical(classes="efield", id=f"row-{key}"):
                        with Horizontal(classes="erow select-row"):
                            yield Label(key.capitalize(), classes="name")
                            yield Select(SELECTS[key], id=f"f-{key}", allow_blank=False)
                        yield Static(classes="ferror", id=f"e-{key}")
                for key, label, placeholder in TEXT_FIELDS:
                    # Each field with its error right under it; the gap is after the error.
                    with Vertical(classes="efield", id=f"row-{key}"):
                        with Horizontal(classes="erow"):
                            yield Label(label, classes="name")
                            yield Input(id=f"f-{key}", placeholder=placeholder)
                        yield Static(classes="ferror", id=f"e-{key}")
                    if key == "password_command":
                        with Vertical(classes="efield", id="row-secret"):
                            with Horizontal(classes="erow"):
                                yield Label("Password", classes="name")
                                yield Input(
                                    id="f-secret",
                                    password=True,
                                    placeholder="optional: kept in the keyring, never in the file",
                                )
                            yield Static(classes="ferror", id="e-secret")
                            yield Static(id="app-password-hint", classes="hint")
                yield from self._compose_imap()
                with Horizontal(id="editor-buttons"):
                    yield Button("Save", id="save", variant="primary")
                    yield Button("Check", id="check")
                    yield Button("Cancel", id="cancel")
            yield TranscriptPane(id="editor-transcript")
        yield Footer()

    def _compose_imap(self) -> ComposeResult:
        """The `[imap]` table: where a copy of each sent message is filed."""
        yield Static(
            Text.assemble(
                ("Copy to Sent (IMAP)", "bold"),
                ("  a copy of each sent message in your Sent folder", "dim"),
            ),
            id="imap-title",
        )
        for key, label, placeholder in IMAP_FIELDS:
            with Vertical(classes="efield", id=f"row-imap-{key}"):
                choices = SELECTS.get(f"imap-{key}")
                with Horizontal(classes="erow select-row" if choices else "erow"):
                    yield Label(label, classes="name")
                    if choices:
                        yield Select(choices, id=f"f-imap-{key}", allow_blank=False)
                    else:
                        yield Input(id=f"f-imap-{key}", placeholder=placeholder)
                yield Static(classes="ferror", id=f"e-imap-{key}")
        with Horizontal(id="imap-check-row"):
            yield Button("Check IMAP", id="check-imap")
            yield Static(id="imap-result")

    def on_mount(self) -> None:
        profile = self.original
        values: dict[str, Any] = profile_to_toml(profile) if profile else {}
        self.query_one("#f-provider", Select).value = values.get("provider", "isp")
        self.query_one("#f-security", Select).value = values.get("security", "starttls")
        self.query_one("#f-auth", Select).value = values.get("auth", "none")
        for key, _label, _placeholder in TEXT_FIELDS:
            value = values.get(key)
            if key == "networks" and value:
                value = ", ".join(value)
            if key == "timeout" and value is None and profile is not None:
                value = f"{profile.timeout:g}"
            self.query_one(f"#f-{key}", Input).value = "" if value is None else str(value)
        imap: dict[str, Any] = values.get("imap", {})
        for key, _label, _placeholder in IMAP_FIELDS:
            if f"imap-{key}" not in SELECTS:
                value = imap.get(key)
                self.query_one(f"#f-imap-{key}", Input).value = "" if value is None else str(value)
        self.query_one("#f-imap-security", Select).value = imap.get("security", "tls")
        self.query_one("#f-imap-copy", Select).value = imap.get("copy", "auto")
        if profile is None and self.address:
            self.query_one("#f-from", Input).value = self.address
        self._follow_choices()
        self.query_one("#f-id" if not profile or self.new_id else "#f-name", Input).focus()

    def on_resize(self, event: Resize) -> None:
        self.set_class(event.size.width < 120, "narrow")

    # -- reading and validating the form --------------------------------------------------

    def _raw(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for key in ("provider", "security", "auth"):
            data[key] = self.query_one(f"#f-{key}", Select).value
        for key, _label, _placeholder in TEXT_FIELDS:
            text = self.query_one(f"#f-{key}", Input).value.strip()
            if not text or (key in LOGIN_ONLY and data["auth"] == "none"):
                continue
            if key == "port":
                data[key] = int(text) if text.isdigit() else text
            elif key == "timeout":
                try:
                    data[key] = float(text)
                except ValueError:
                    data[key] = text
            elif key == "networks":
                data[key] = [n.strip() for n in text.split(",") if n.strip()]
            else:
                data[key] = text
        if self.original is not None:  # the keys the form does not show, kept as they were
            if self.original.password is not None:
                data["password"] = self.original.password
            if self.original.addresses:
                data["addresses"] = list(self.original.addresses)
            if self.original.default and not self.new_id:  # a copy would be a second default
                data["default"] = True
            if data["auth"] in BEARER_METHODS:
                if self.original.token_command is not None:
                    data["token_command"] = self.original.token_command
                if self.original.oauth is not None:
                    from tui.core.oauth.settings import oauth_to_toml

                    data["oauth"] = oauth_to_toml(self.original.oauth)
        imap = self._raw_imap()
        if imap is not None:
            data["imap"] = imap
        return data

    def _raw_imap(self) -> dict[str, Any] | None:
        """The `[imap]` table the form describes, with the keys it does not show kept from the
        file; None (no table) when the IMAP server is left empty."""
        if not self.query_one("#f-imap-host", Input).value.strip():
            return None
        kept = imap_to_toml(self.original.imap) if self.original and self.original.imap else {}
        table: dict[str, Any] = {k: kept[k] for k in IMAP_UNSHOWN if k in kept}
        for key, _label, _placeholder in IMAP_FIELDS:
            if f"imap-{key}" in SELECTS:
                table[key] = self.query_one(f"#f-imap-{key}", Select).value
                continue
            text = self.query_one(f"#f-imap-{key}", Input).value.strip()
            if text:
                table[key] = int(text) if key == "port" and text.isdigit() else text
        return table

    def _clear_errors(self) -> None:
        for error in self.query(".ferror").results(Static):
            error.update("")
            error.remove_class("-shown")
        for field in self.query(".-bad"):
            field.remove_class("-bad")

    def check_fields(self, required: bool = False) -> bool:
        """Each filled-in field checked on its own (as typed); with `required`, also the
        required ones left empty (on save). Shows every problem; True when there is none."""
        self._clear_errors()
        found = False
        raw = self._raw()
        choices = {k: raw[k] for k in ("security", "auth")}
        profile_id = self.query_one("#f-id", Input).value.strip()
        if (profile_id or required) and not PROFILE_ID_RE.match(profile_id):
            self._show("id", "use letters, digits, '.', '_' or '-' (this is the file name)")
            found = True
        for key, value in raw.items():
            if key in ("provider", "auth", "imap", *UNSHOWN):
                continue
            problem = check_field(key, value, choices)
            if problem:
                self._show(key, problem)
                found = True
        imap = raw.get("imap", {})
        imap_choices = {"imap": {k: imap[k] for k in ("security", "copy") if k in imap}}
        for key, value in imap.items():
            if key in IMAP_UNSHOWN:
                continue
            problem = check_field(f"imap.{key}", value, imap_choices)
            if problem:
                self._show(f"imap.{key}", problem)
                found = True
        if required:
            for key in ("name", "from", "host"):
                if key not in raw:
                    self._show(key, "is required")
                    found = True
        return not found

    def validate(self) -> Profile | None:
        """The profile the form describes, or None with every problem shown beside its field."""
        if not self.check_fields(required=True):
            return None
        profile_id = self.query_one("#f-id", Input).value.strip()
        if self.original is None or self.new_id:
            existing = load_profiles()
            if existing.get(profile_id) or existing.error_for(profile_id):
                self._show("id", f"a profile {profile_id} exists already; choose another id")
                return None
        try:
            return parse_profile(profile_id, self._raw(), self._path(profile_id))
        except ProfileError as exc:
            self._show(exc.key or "id", exc.problem)
            return None

    def _path(self, profile_id: str) -> Any:
        from tui.core import locations

        return locations.profiles_dir() / f"{profile_id}.toml"

    def _show(self, key: str, problem: str) -> None:
        key = key.replace(".", "-")  # imap.host is shown under #f-imap-host
        matches = self.query(f"#e-{key}").results(Static)
        error = next(matches, None)
        if error is None:
            key, error = "id", self.query_one("#e-id", Static)
        error.update(Text(problem))
        error.add_class("-shown")
        self.query_one(f"#f-{key}").add_class("-bad")  # drawn in red (app.tcss)

    def _focus_first_bad(self) -> None:
        """Focus the first field marked in red, in the order of the form."""
        first = next((w for w in self.query(".erow > .-bad") if w.focusable), None)
        if first is not None:
            first.focus()

    @on(Input.Changed)
    @on(Select.Changed)
    def _changed(self) -> None:
        self._follow_choices()
        self.check_fields()

    @on(Select.Changed, "#f-provider")
    def _provider_changed(self, event: Select.Changed) -> None:
        """A web portal wants a login: choosing it turns auth "none" into "auto" (and plain
        text into STARTTLS, as a password never goes out unencrypted). Only for a choice made
        here: opening a file sets the provider it has, which is not a change."""
        provider = event.select.value  # as it is now: an older event may arrive late
        if provider == self._provider:
            return
        self._provider = provider
        auth = self.query_one("#f-auth", Select)
        if provider == "portal" and auth.value == "none":
            auth.value = "auto"
            security = self.query_one("#f-security", Select)
            if security.value == "none":
                security.value = "starttls"

    def _follow_choices(self) -> None:
        """Port placeholder from security; login fields only with a login; the provider's
        app-password page when the server is one that wants an app password."""
        security = self.query_one("#f-security", Select).value
        auth = self.query_one("#f-auth", Select).value
        from tui.core.wordings import app_password_provider

        host = self.query_one("#f-host", Input).value.strip()
        wants = app_password_provider(host) if host else None
        hint = self.query_one("#app-password-hint", Static)
        hint.display = wants is not None and auth not in ("none", "xoauth2", "oauthbearer")
        if wants is not None:
            hint.update(
                Text(
                    f"{wants.name} wants an app password here, not your account "
                    f"password: {wants.how}."
                )
            )
        if isinstance(security, str) and security in DEFAULT_PORTS:
            self.query_one("#f-port", Input).placeholder = f"{DEFAULT_PORTS[security]} (default)"
        for key in LOGIN_ONLY:
            self.query_one(f"#row-{key}").display = auth != "none"
        imap_security = self.query_one("#f-imap-security", Select).value
        if isinstance(imap_security, str) and imap_security in IMAP_DEFAULT_PORTS:
            port = IMAP_DEFAULT_PORTS[imap_security]
            self.query_one("#f-imap-port", Input).placeholder = f"{port} (default)"
        # The rest of the table only once there is a server: an empty one means no [imap].
        has_imap = bool(self.query_one("#f-imap-host", Input).value.strip())
        for key, _label, _placeholder in IMAP_FIELDS[1:]:
            self.query_one(f"#row-imap-{key}").display = has_imap
        self.query_one("#imap-check-row").display = has_imap

    # -- actions ------------------------------------------------------------------------------

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        profile = self.validate()
        if profile is None:
            self._focus_first_bad()
            self.notify("Fix the field marked in red first.", severity="error")
            return
        secret = self.query_one("#f-secret", Input).value
        if secret and profile.logs_in:
            problem = store_in_keyring(profile.id, secret)
            if problem is not None:
                self._show("secret", problem)
                self._focus_first_bad()
                self.notify("The password was not stored; see the field in red.", severity="error")
                return
        try:
            path = save_profile(profile)
        except OSError as exc:
            self.notify(
                f"Could not save {exc.filename}: {exc.strerror}", severity="error", markup=False
            )
            return
        kept = " (password in the system keyring)" if secret and profile.logs_in else ""
        self.notify(f"Saved {path}{kept}", markup=False)
        self.dismiss(profile)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "sign_in":  # offered for a profile that signs in with [oauth]
            original = self.original
            return original is not None and original.signs_in
        return True

    def action_sign_in(self) -> None:
        """Sign in (again) with the provider: the tokens are kept for this profile's sends."""
        from tui.ui.screens.sign_in import SignInScreen

        profile = self.original
        if profile is None or profile.oauth is None:
            return
        self.app.push_screen(SignInScreen(profile))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    def _to_check(self) -> Profile | None:
        """The profile the form describes, or None with the person pointed at the problem."""
        profile = self.validate()
        if profile is None:
            self._focus_first_bad()
            self.notify("Fix the field marked in red before checking.", severity="error")
        return profile

    @on(Button.Pressed, "#check")
    def action_check(self) -> None:
        profile = self._to_check()
        if profile is not None:
            self.run_check(profile)

    @work(exclusive=True, group="editor-check")
    async def run_check(self, profile: Profile) -> None:
        self._check_run += 1  # an IMAP check still in its thread no longer writes here
        pane = self.query_one(TranscriptPane)
        pane.begin(f"check {profile.id}")
        password = self.query_one("#f-secret", Input).value or None  # typed, not yet saved
        if profile.logs_in and password is None and self.password_for is not None:
            password = await self.password_for(profile)  # its sources, else the masked prompt
        if profile.logs_in and not password:
            pane.state = "cancelled"
            return
        result = await sending.check(profile, (), listener=pane.handle, password=password)
        pane.finish(result, check=True)
        pane.log_widget.write(Text(f"verdict: {result.summary}", style="bold"))

    @on(Button.Pressed, "#check-imap")
    def action_check_imap(self) -> None:
        if not self.query_one("#f-imap-host", Input).value.strip():
            self._show("imap.host", "fill in the IMAP server to check it")
            self._focus_first_bad()
            return
        profile = self._to_check()
        if profile is not None:
            self.query_one("#imap-check-row").scroll_visible()  # where its answer shows
            self.run_imap_check(profile)

    @work(exclusive=True, group="editor-check")
    async def run_imap_check(self, profile: Profile) -> None:
        """Log in to the form's IMAP server and find its Sent folder; nothing is changed
        there. IMAPClient blocks, so the check runs in a thread and its lines come back to
        the pane through the event loop."""
        from tui.core.sent_copy import check_imap

        self._check_run += 1
        run = self._check_run
        pane = self.query_one(TranscriptPane)
        pane.begin(f"IMAP check {profile.id}")
        self._imap_result("checking…", "")
        asked, password = await self._imap_password(profile)
        if not asked:
            pane.state = "cancelled"
            self._imap_result("cancelled: no password", "")
            return
        loop = asyncio.get_running_loop()

        def listener(event: SessionEvent) -> None:
            # call_soon_threadsafe, not call_from_thread: it never waits on a loop that
            # may be closing (the app quit mid-check), and keeps the lines in order.
            def show() -> None:
                if run == self._check_run and self.is_mounted:  # not a cancelled check's
                    pane.handle(event)

            with contextlib.suppress(RuntimeError):  # the app has closed
                loop.call_soon_threadsafe(show)

        found = await asyncio.to_thread(check_imap, profile, listener, password)
        pane.state = "imap-found" if found.ok else "imap-failed"
        pane.log_widget.write(Text(f"verdict: {found.summary}", style="bold"))
        if found.ok:
            self._imap_result(f"Sent folder: {found.folder}", "-good")
        else:
            self._imap_result(found.summary, "-bad")

    async def _imap_password(self, profile: Profile) -> tuple[bool, str | None]:
        """(False, None) when a password prompt was cancelled; else (True, the password the
        IMAP login shares with SMTP), None when [imap] has its own password_command or the
        session is to look in the profile's sources itself."""
        imap = profile.imap
        if imap is None or imap.password_command or not profile.logs_in:
            return True, None
        typed = self.query_one("#f-secret", Input).value  # typed, not yet saved
        if typed:
            return True, typed
        if self.password_for is None:
            return True, None
        password = await self.password_for(profile)  # its sources, else the masked prompt
        return bool(password), password or None

    def _imap_result(self, text: str, kind: str) -> None:
        result = self.query_one("#imap-result", Static)
        result.update(Text(text))
        result.set_class(kind == "-good", "-good")
        result.set_class(kind == "-bad", "-bad")
        self.call_after_refresh(result.scroll_visible)  # a long sentence shows whole


def found_text(found: Sequence[tuple[str, str, str]]) -> Text:
    """Where each setting discovery found came from, a line each."""
    text = Text("Found:\n", style="bold")
    for key, value, origin in found:
        text.append(f"  {key} {value}", style="not bold")
        text.append(f"  {origin}\n", style="dim not bold")
    return text
