"""Create, edit and duplicate a profile, with every field of the contract, validated as typed.

"Check" runs the core's pre-flight on what is in the form and streams it into the pane
beside it; "Save" writes the TOML file through the core (atomic, 0600).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
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
    PROFILE_ID_RE,
    Profile,
    ProfileError,
    check_field,
    load_profiles,
    parse_profile,
    profile_to_toml,
    save_profile,
)
from tui.core.secrets import store_in_keyring
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
UNSHOWN = ("password", "addresses", "default", "imap", "token_command", "oauth")
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
}


# How the editor asks for a profile's password: given by whoever opens it (the app).
PasswordLookup = Callable[[Profile], Awaitable[str | None]]


class ProfileEditor(Screen[Profile | None]):
    """Dismisses with the saved profile, or None when cancelled."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="editor.save"),
        Binding("f4", "check", "Check", id="editor.check"),
        Binding("escape", "cancel", "Cancel", id="editor.cancel"),
        Binding("f6", "sign_in", "Sign in", id="editor.sign-in"),
    ]

    def __init__(
        self,
        profile: Profile | None = None,
        new_id: str | None = None,
        password_for: PasswordLookup | None = None,
    ) -> None:
        """Edit `profile`; with `new_id`, save it under that id (new or duplicate).
        `password_for` finds a profile's password for the Check (its sources, else a prompt)."""
        super().__init__()
        self.password_for = password_for
        self.original = profile
        self.new_id = new_id
        self.profile_id = new_id or (profile.id if profile else "")
        self._provider: object = profile.provider if profile else "isp"  # as last seen

    def compose(self) -> ComposeResult:
        title = (
            f"Edit profile {self.profile_id}"
            if self.original and not self.new_id
            else "New profile"
        )
        with Horizontal(id="editor-body"):
            with VerticalScroll(id="editor-form"):
                yield Static(Text(title, style="bold"), id="editor-title")
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
                with Horizontal(id="editor-buttons"):
                    yield Button("Save", id="save", variant="primary")
                    yield Button("Check", id="check")
                    yield Button("Cancel", id="cancel")
            yield TranscriptPane(id="editor-transcript")
        yield Footer()

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
            if self.original.imap is not None:
                from tui.core.profiles import imap_to_toml

                data["imap"] = imap_to_toml(self.original.imap)
            if data["auth"] in BEARER_METHODS:
                if self.original.token_command is not None:
                    data["token_command"] = self.original.token_command
                if self.original.oauth is not None:
                    from tui.core.oauth.settings import oauth_to_toml

                    data["oauth"] = oauth_to_toml(self.original.oauth)
        return data

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
            if key in ("provider", "auth", *UNSHOWN):
                continue
            problem = check_field(key, value, choices)
            if problem:
                self._show(key, problem)
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
        """Port placeholder from security; login fields only with a login."""
        security = self.query_one("#f-security", Select).value
        auth = self.query_one("#f-auth", Select).value
        if isinstance(security, str) and security in DEFAULT_PORTS:
            self.query_one("#f-port", Input).placeholder = f"{DEFAULT_PORTS[security]} (default)"
        for key in LOGIN_ONLY:
            self.query_one(f"#row-{key}").display = auth != "none"

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
            return original is not None and original.uses_token and original.oauth is not None
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

    @on(Button.Pressed, "#check")
    def action_check(self) -> None:
        profile = self.validate()
        if profile is None:
            self._focus_first_bad()
            self.notify("Fix the field marked in red before checking.", severity="error")
            return
        self.run_check(profile)

    @work(exclusive=True, group="editor-check")
    async def run_check(self, profile: Profile) -> None:

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
