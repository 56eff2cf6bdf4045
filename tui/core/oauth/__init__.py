"""OAuth2 for SMTP: the `[oauth]` table and its providers' endpoints (settings), where the
tokens are kept (store), an access token for a send (tokens) and signing in (signin).

Nothing here imports Textual: the command line (`mailtui login`) and the app's sign-in
screen both drive `tui.core.oauth.signin`.
"""
