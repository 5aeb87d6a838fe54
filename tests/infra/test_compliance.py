"""cdk-nag (AwsSolutions, Serverless) and cfn-lint accept the stack; every exception is acknowledged."""

from __future__ import annotations

import json

import pytest
from cfnlint.api import lint

from infra.cdk.app import nag_packs

pytestmark = pytest.mark.infra


def test_cdk_nag_reports_no_unacknowledged_error_or_warning(synth):
    findings = []
    for pack in nag_packs(None):
        report = pack.validate_scope(synth.stack)
        findings += [
            f"{violation.rule_name} at {resource.construct_path}"
            for violation in report.violations
            for resource in violation.violating_resources
        ]
    assert findings == []


def test_cfn_lint_reports_no_errors(synth):
    template = json.dumps({k: v for k, v in synth.template.to_json().items()})
    errors = [
        f"{m.rule.id} {m.message} at {'/'.join(map(str, m.path))}"
        for m in lint(template, regions=["eu-west-1"])
        if m.rule.id.startswith("E")
    ]
    assert errors == []
