"""The transcript pane shows a saved transcript as text, whatever the file holds."""

from tui.ui.widgets.transcript_pane import styled_line


def test_a_saved_line_with_terminal_controls_is_shown_escaped() -> None:
    shown = styled_line("00:00:00.000 <- 550 \x1b]0;owned\x07 \u202euser\u200b unknown").plain
    assert shown == r"00:00:00.000 <- 550 \x1b]0;owned\x07 \u202euser\u200b unknown"
