"""`close2cash config check`: the problems of a landscape file, or a summary of a valid one."""

from __future__ import annotations

from typer.testing import CliRunner

from infra.cli import app
from tests.governance.conftest import DEMO, edited


def test_check_of_the_demo_landscape_exits_0_with_a_summary():
    result = CliRunner().invoke(app, ["config", "check", str(DEMO)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.stdout and "Northwind Advisory (demo)" in result.stdout
    assert "salesforce (crm), productive (psa), quickbooks (accounting)" in result.stdout


def test_check_of_a_broken_landscape_exits_1_and_prints_every_problem(tmp_path):
    # given a landscape with a bad currency and an undeclared rate card
    broken = tmp_path / "firm.toml"
    broken.write_text(
        edited(
            ('functional_currency = "GBP"', 'functional_currency = "USX"'),
            ('rate_card = "Standard 2025 GBP"', 'rate_card = "Premium"'),
        )
    )
    # when it is checked
    result = CliRunner().invoke(app, ["config", "check", str(broken)])
    # then both problems are printed with file and path, and the command fails
    assert result.exit_code == 1
    assert f"{broken}: legal_entities[1].functional_currency: currency 'USX'" in result.stderr
    assert f"{broken}: mappings.project_templates[2].rate_card: rate card 'Premium'" in result.stderr
    assert "2 problems" in result.stderr


def test_check_of_a_file_with_a_syntax_error_names_the_line(tmp_path):
    broken = tmp_path / "firm.toml"
    broken.write_text('[landscape]\nname = "Acme"\nversion = \n')
    result = CliRunner().invoke(app, ["config", "check", str(broken)])
    assert result.exit_code == 1
    assert f"{broken}: line 3, column 11: not valid TOML" in result.stderr
