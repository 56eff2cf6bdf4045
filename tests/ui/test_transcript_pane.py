"""The transcript pane shows a saved transcript as text, whatever the file holds."""

from tui.ui.widgets.transcript_pane import styled_line


def test_a_saved_line_with_terminal_controls_is_shown_escaped() -> None:
    shown = styled_line("00:00:00.000 <- 550 \x1b]0;owned\x07 \u202euser\u200b unknown").plain
    assert shown == r"00:00:00.000 <- 550 \x1b]0;owned\x07 \u202euser\u200b unknown"


def test_long_lines_wrap_under_their_text_and_a_fingerprint_breaks_between_bytes() -> None:
    from tui.ui.widgets.transcript_pane import INDENT, styled_line, wrap_body

    fingerprint = "sha256:" + ":".join(f"{n:02X}" for n in range(32))
    lines = wrap_body(f"TLS established: {fingerprint}", 40)
    assert all(len(line) <= 40 for line in lines)
    assert all(line.endswith(":") or line is lines[-1] for line in lines[1:])  # whole bytes
    assert "".join(lines[1:]).replace(" ", "") in fingerprint or fingerprint.startswith(lines[1])
    text = styled_line(f"12:00:00.000 ** TLS established: {fingerprint}", 56).plain
    rows = text.split("\n")
    assert len(rows) > 1 and all(row.startswith(" " * INDENT) for row in rows[1:])


def test_a_refusal_stands_out_in_the_error_colour() -> None:
    from tui.ui.widgets.transcript_pane import styled_line

    refused = styled_line("12:00:00.000 <- 554 5.7.1 Relay access denied")
    fine = styled_line("12:00:00.000 <- 250 2.1.5 Ok")
    assert "red" in str(refused.spans[-1].style)  # the reply itself, after stamp and mark
    assert "red" not in str(fine.spans[-1].style)


async def test_the_transcript_reflows_when_the_terminal_is_resized(home: object) -> None:
    from textual.app import App, ComposeResult

    from tui.ui.widgets.transcript_pane import TranscriptPane

    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield TranscriptPane()

    long = "12:00:00.000 <- 250 " + "word " * 60
    app = One()
    async with app.run_test(size=(60, 20)) as pilot:
        pane = app.query_one(TranscriptPane)
        pane.show_lines([long])
        await pilot.pause()
        narrow = len(pane.log_widget.lines)
        await pilot.resize_terminal(160, 20)
        await pilot.pause()
        await pilot.pause()
        assert len(pane.log_widget.lines) < narrow  # wrapped again, wider
