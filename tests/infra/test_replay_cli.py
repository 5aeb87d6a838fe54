"""`close2cash replay`'s refusals before anything is asked of AWS, and what it prints of an answer."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from infra.cli import app
from infra.replay_cli import report_lines


def _run(*args: str) -> tuple[int, str]:
    answer = CliRunner().invoke(app, ["replay", *args, "--endpoint-url", "http://127.0.0.1:9"])
    return answer.exit_code, answer.output


def test_an_instant_without_a_zone_or_not_iso_is_refused_naming_the_option() -> None:
    code, output = _run("--from", "2026-11-02T00:00", "--to", "2026-11-03T00:00Z")
    assert code == 2 and "--from" in output and "time zone" in output
    code, output = _run("--from", "2026-11-02T00:00Z", "--to", "yesterday")
    assert code == 2 and "--to 'yesterday'" in output and "ISO 8601" in output


def test_a_landscape_file_with_problems_is_refused_with_every_problem(tmp_path: Path) -> None:
    broken = tmp_path / "landscape.toml"
    broken.write_text('[landscape]\nname = "x"\n', encoding="utf-8")
    code, output = _run(
        "--from", "2026-11-02T00:00Z", "--to", "2026-11-03T00:00Z", "--landscape", str(broken)
    )
    assert code == 2 and "landscape.toml" in output and "problem" in output


def test_the_answer_lists_the_diff_the_flows_not_replayed_and_the_notes() -> None:
    lines = report_lines(
        {
            "start": "2026-11-02T00:00:00Z",
            "end": "2026-11-03T00:00:00Z",
            "landscape": "demo 2",
            "dry_run": True,
            "notices": 3,
            "by_flow": {"cash": 1, "customers": 2},
            "not_replayed": {"cash": 1},
            "vendor_calls": {"salesforce": 1},
            "archive_calls": {"StartReplay": 1},
            "found": 1,
            "diffs": [
                {"summary": "update productive company 8 for salesforce 001A: payment_terms: '45' -> '30'"}
            ],
            "left_aside": ["salesforce account 001B: drift"],
        }
    )
    assert lines[0].endswith("under landscape demo 2 (dry run: nothing written)")
    assert "  - update productive company 8 for salesforce 001A: payment_terms: '45' -> '30'" in lines
    assert any("not re-derived: 1 cash notice(s)" in line for line in lines)
    assert "  note: salesforce account 001B: drift" in lines
