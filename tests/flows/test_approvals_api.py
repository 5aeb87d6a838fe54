"""The approval routes on the sandboxes: signed-in approvers only, one decision each, 400 on bad bodies.

Every request goes over loopback through the local API front, which plays API Gateway's Cognito
authorizer; the setups are real ones paused at their approval checkpoint.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from infra.local.environment import LocalEnvironment, local_environment
from shared import bootstrap
from shared.domain.engagement_ports import ApprovalState
from tests.flows.deals import approver, pending_for, setup_status, won_deal

pytestmark = pytest.mark.flow

RACERS = 12
OPS, FINANCE = "ops@northwind.example", "finance@northwind.example"


@pytest.fixture(scope="module")
def env() -> Iterator[LocalEnvironment]:
    with local_environment() as environment:
        yield environment


@pytest.fixture
def callbacks(env: LocalEnvironment, monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Task-token answers the approval routes send to Step Functions, counted by kind."""
    sent: Counter[str] = Counter()
    workflow = bootstrap.services().workflow  # the handlers' own services: one process locally
    for kind in ("succeed", "fail"):
        original = getattr(workflow, kind)

        def counted(*args: Any, _original: Any = original, _kind: str = kind, **kwargs: Any) -> Any:
            sent[_kind] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(workflow, kind, counted)
    return sent


def _post(env: LocalEnvironment, path: str, *, headers: dict[str, str], **kwargs: Any) -> httpx.Response:
    return httpx.post(f"{env.api_url}{path}", headers=headers, timeout=30, **kwargs)


def test_concurrent_approve_and_reject_record_one_decision_that_workflow_and_crm_follow(
    env: LocalEnvironment, callbacks: Counter[str]
) -> None:
    # given a real setup waiting at its approval checkpoint
    opportunity_id = won_deal(env, "Raced deal")
    request = pending_for(env, opportunity_id)
    answers: list[httpx.Response] = []
    start = threading.Barrier(RACERS)

    def racer(n: int) -> None:
        # half approve as operations, half reject as finance, all released at the same instant
        who, verb = (OPS, "approve") if n % 2 else (FINANCE, "reject")
        start.wait()
        answers.append(
            _post(
                env, f"/approvals/{request['id']}/{verb}", headers=approver(env, who), json={"reason": "no"}
            )
        )

    # when twelve decisions arrive together
    threads = [threading.Thread(target=racer, args=(n,)) for n in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = Counter(a.status_code for a in answers)
    # then exactly one is accepted and the others are refused as already decided
    assert statuses == {200: 1, 409: RACERS - 1}, [a.text for a in answers]
    [accepted] = [a for a in answers if a.status_code == 200]
    # and the record keeps that one decision, which is the one answer the workflow got
    recorded = bootstrap.services().approvals.get(request["id"])
    assert recorded is not None and recorded.state.value == accepted.json()["state"]
    assert recorded.decided_by in (OPS, FINANCE) and recorded.delivered_at is not None
    assert sum(callbacks.values()) == 1, callbacks
    # and the workflow's outcome and the CRM agree with it
    crm = "active" if recorded.state is ApprovalState.APPROVED else "rejected"
    assert setup_status(env, opportunity_id, crm) == crm
    print(
        f"\napproval race: {RACERS} concurrent decisions -> {dict(sorted(statuses.items()))}; "
        f"decisions recorded: 1 ({recorded.state} by {recorded.decided_by}); "
        f"task-token answers: {sum(callbacks.values())}; CRM: {crm}"
    )


def test_without_a_valid_approver_token_the_routes_answer_401_and_never_run(env: LocalEnvironment) -> None:
    assert env.runtime is not None
    opportunity_id = won_deal(env, "Guarded deal")
    request = pending_for(env, opportunity_id)
    runs = env.runtime.invocations["approvals_api"]
    token = env.approver_token
    for headers in (
        {},
        {"X-Approver": OPS},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Bearer  {token}"},  # compared exactly: no whitespace stripped
        {"Authorization": f"Bearer {token.upper()}"},
        {"Authorization": "Bearer"},
    ):
        assert _post(env, f"/approvals/{request['id']}/approve", headers=headers).status_code == 401, headers
        assert httpx.get(f"{env.api_url}/approvals", headers=headers, timeout=10).status_code == 401
    # then the function never ran, and the request still waits
    assert env.runtime.invocations["approvals_api"] == runs
    assert bootstrap.services().approvals.get(request["id"]).state is ApprovalState.PENDING  # type: ignore[union-attr]


def test_the_decision_names_the_signed_in_approver_whatever_x_approver_says(env: LocalEnvironment) -> None:
    opportunity_id = won_deal(env, "Attributed deal")
    request = pending_for(env, opportunity_id)
    # when finance approves, claiming in a header to be someone else
    answer = _post(
        env,
        f"/approvals/{request['id']}/approve",
        headers={**approver(env, FINANCE), "X-Approver": "ceo@evil"},
    )
    assert answer.status_code == 200, answer.text
    # then the record names finance, as its token proved
    recorded = bootstrap.services().approvals.get(request["id"])
    assert recorded is not None and recorded.decided_by == FINANCE
    assert setup_status(env, opportunity_id, "active") == "active"


@pytest.mark.parametrize(
    "body",
    ['["budget"]', '"budget"', "not json", "{", '{"reason": 42}', "[" * 100_000],
    ids=["array", "string", "not-json", "truncated", "reason-not-text", "deeply-nested"],
)
def test_a_reject_body_that_is_not_a_json_object_with_a_text_reason_is_a_400(
    env: LocalEnvironment, body: str
) -> None:
    request = _shared_pending(env)
    answer = _post(
        env,
        f"/approvals/{request['id']}/reject",
        headers={**approver(env), "Content-Type": "application/json"},
        content=body,
    )
    assert answer.status_code == 400, answer.text
    assert "reason" in answer.json()["message"] or "JSON object" in answer.json()["message"]
    # and nothing changed: the request still waits for a decision
    assert bootstrap.services().approvals.get(request["id"]).state is ApprovalState.PENDING  # type: ignore[union-attr]


_PENDING: dict[str, Any] = {}


def _shared_pending(env: LocalEnvironment) -> dict[str, Any]:
    """One deal waiting for approval, for the bad-body cases (none of them decides it)."""
    if not _PENDING:
        _PENDING.update(pending_for(env, won_deal(env, "Badly rejected deal")))
    return _PENDING
