"""The billing run's workflow: a posted invoice whose report another worker holds ends the run done."""

from __future__ import annotations

import json
from pathlib import Path

ASL = Path(__file__).parents[2] / "infra" / "statemachines" / "billing_run.asl.json"


def test_feedback_meeting_another_workers_report_is_done_and_anything_else_fails_the_run() -> None:
    states = json.loads(ASL.read_text())["States"]
    catches = states["Feedback"]["Catch"]
    # the lease held past the retries: the other worker's report (and the sweeps) tell the PSA and CRM
    assert catches[0] == {"ErrorEquals": ["ConflictError"], "ResultPath": "$.feedback_error", "Next": "Done"}
    # any other failure is a failed run a person retries (`close2cash billing retry RUN`)
    assert catches[-1]["ErrorEquals"] == ["States.ALL"] and catches[-1]["Next"] == "RunFailed"
    assert "ConflictError" in states["Feedback"]["Retry"][0]["ErrorEquals"]
