"""The docs test's comparison (tests/docs_examples.py): placeholders match what varies,
and anything else that changes (a format, a word, a column) fails."""

from pathlib import Path

from tests.docs_examples import Bindings, match_lines, parse

HASH = "3952B21376C3E2FBAB0C34C48E6FD03C26D544A8AF8FFEDBB9FAB8001273398A"
OTHER_HASH = "0578DD544E006FADE54142FFA3A7685EA8CB915B7B1AD50BD5DCFA65E452C730"
ADDRESS = "secret1snf0y77qz9hgh69fefffjdv5tedfd6rmewzzsz"
OTHER_ADDRESS = "secret1y0vylfdn4xyj0uec0ztqdtn0m4e4pe4skmuc5z"


def test_exact_lines_match_and_a_changed_word_does_not() -> None:
    assert match_lines(["committed"], ["committed"], Bindings()) is not None
    assert match_lines(["committed"], ["comitted"], Bindings()) is None
    assert match_lines(["a", "b"], ["a"], Bindings()) is None
    assert match_lines(["a"], ["a", "b"], Bindings()) is None
    assert match_lines(["a"], ["a", "b"], Bindings(), prefix=True) is not None


def test_a_changed_format_fails() -> None:
    shown = ['{"status":"ok","height":…}']
    assert match_lines(shown, ['{"status":"ok","height":12}'], Bindings()) is not None
    assert match_lines(shown, ['{"status": "ok", "height": 12}'], Bindings()) is None
    assert match_lines(shown, ["status ok, height 12"], Bindings()) is None


def test_the_ellipsis_stands_for_text_and_a_line_of_it_for_lines() -> None:
    assert match_lines(["x … z"], ["x anything here z"], Bindings()) is not None
    assert match_lines(["a", "…", "d"], ["a", "b", "c", "d"], Bindings()) is not None
    assert match_lines(["a", "…", "d"], ["a", "d"], Bindings()) is not None
    assert match_lines(["a", "…", "d"], ["a", "b", "c"], Bindings()) is None


def test_table_padding_and_rules_may_differ() -> None:
    shown = ["┌──────┬───┐", "│ height   │ 3      │"]
    assert match_lines(shown, ["┌───┬──────────┐", "│ height │ 3 │"], Bindings()) is not None
    assert match_lines(shown, ["┌───┬──────────┐", "│ height │ 4 │"], Bindings()) is None


def test_hashes_and_addresses_bind_to_the_real_ones_for_the_rest_of_the_file() -> None:
    bound = match_lines(
        [f"tx {HASH} by {ADDRESS}"], [f"tx {OTHER_HASH} by {OTHER_ADDRESS}"], Bindings()
    )
    assert bound == {HASH: OTHER_HASH, ADDRESS: OTHER_ADDRESS}
    assert bound.apply(f"query tx {HASH}") == f"query tx {OTHER_HASH}"
    # later, the same shown value must be the same real one
    assert match_lines([ADDRESS], [OTHER_ADDRESS], bound) is not None
    assert match_lines([ADDRESS], [ADDRESS], bound) is None
    # and within one line
    assert match_lines([f"{HASH} {HASH}"], [f"{OTHER_HASH} {HASH}"], Bindings()) is None
    # a hash's case is part of its shape
    assert match_lines([HASH], [OTHER_HASH.lower()], Bindings()) is None


def test_times_match_any_time_of_their_shape() -> None:
    shown = ["2026-11-25 12:44:40,112 INFO x", "time 2026-11-25T12:44:44.379363Z"]
    real = ["2027-01-02 03:04:05,678 INFO x", "time 2027-01-02T03:04:05.000001Z"]
    assert match_lines(shown, real, Bindings()) is not None
    assert match_lines(shown, ["2027-01-02 03:04:05 INFO x", real[1]], Bindings()) is None


def test_blocks_markers_commands_and_here_documents_are_parsed(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "text\n\n<!-- not-run: needs a GPU -->\n```console\n$ nvidia-smi\n```\n\n"
        "<!-- setup: touch a -->\n```console\n$ ls \\\n    a\na\n$ cat > f <<'EOF'\nx\nEOF\n"
        "$ cat f\nx\n```\n\n```console\n$ true\n```\n"
    )
    first, second, third = parse(page)
    assert first.not_run == "needs a GPU"
    assert second.not_run is None
    assert second.setup == ["touch a"]
    assert [c.text for c in second.commands] == ["ls \\\n    a", "cat > f <<'EOF'\nx\nEOF", "cat f"]
    assert [c.expected for c in second.commands] == [["a"], [], ["x"]]
    assert third.setup == []
    assert third.not_run is None
