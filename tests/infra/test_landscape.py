"""The landscape ships with the stack: inside the code asset, named in each function, validated first."""

from __future__ import annotations

import pytest

from infra.cdk.app import build
from infra.cdk.bundling import DEFAULT_LANDSCAPE, LANDSCAPE_IN_ASSET
from shared.governance.loader import LandscapeInvalid, load_landscape

pytestmark = pytest.mark.infra


def test_the_landscape_file_is_in_the_code_asset_byte_for_byte(asset_dir):
    assert (asset_dir / LANDSCAPE_IN_ASSET).read_bytes() == DEFAULT_LANDSCAPE.read_bytes()


def test_every_function_is_told_where_the_landscape_is(synth):
    for fn in synth.stack.functions.functions.values():
        function = synth.resources[synth.logical_id(fn)]
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["LANDSCAPE_FILE"] == LANDSCAPE_IN_ASSET


def test_the_stack_reports_the_deployed_landscape_version(synth):
    outputs = synth.template.to_json()["Outputs"]
    deployed = load_landscape(DEFAULT_LANDSCAPE).landscape
    assert outputs["LandscapeVersion"]["Value"] == f"{deployed.name} {deployed.version}"


def test_an_invalid_landscape_stops_the_synth_with_every_problem(tmp_path):
    broken = tmp_path / "firm.toml"
    broken.write_text(
        DEFAULT_LANDSCAPE.read_text().replace('functional_currency = "GBP"', 'functional_currency = "GBX"')
    )
    with pytest.raises(LandscapeInvalid) as refused:
        build(str(tmp_path / "out"), nag=False, landscape=broken)
    assert any("GBX" in str(problem) for problem in refused.value.problems)
