"""QuickBooks as an EngagementTarget against the sandbox: the engagement's sub-customer, draft to closed."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from infra.local.sandboxes.quickbooks import QuickBooksSandbox
from shared.connectors.quickbooks import QuickBooksConnector, mapper
from shared.domain.commercial import RateCard, RateCardLine
from shared.domain.dimensions import FinancialDimensions
from shared.domain.engagement_ports import EngagementStatus
from shared.domain.engagements import BillingModel, Engagement
from shared.domain.errors import ValidationFailed
from shared.domain.models import SourceRef, SystemName
from shared.domain.money import Money
from tests.connectors.quickbooks.conftest import make_account

OPPORTUNITY = SourceRef(system=SystemName.SALESFORCE, type="opportunity", id="006ERP", version="2")


def make_engagement(
    *, class_id: str | None = None, department_id: str | None = None, **changes: Any
) -> Engagement:
    fields: dict[str, Any] = {
        "source": SourceRef(system=SystemName.PRODUCTIVE, type="project", id="P-1"),
        "name": "ERP rollout 2025",
        "account": SourceRef(system=SystemName.SALESFORCE, type="account", id="001ACME"),
        "opportunity": OPPORTUNITY,
        "template": "implementation-t&m",
        "billing_model": BillingModel.TIME_AND_MATERIALS,
        "currency": "USD",
        "rate_card": SourceRef(system=SystemName.PRODUCTIVE, type="rate_card", id="RC-1"),
        "dimensions": FinancialDimensions(
            legal_entity="US01", accounting_class=class_id, department=department_id
        ),
        "budget": Money.of("45000.00", "USD"),
        "start_date": date(2025, 3, 3),
    }
    fields.update(changes)
    return Engagement(**fields)


@pytest.fixture
def parent_id(connector: QuickBooksConnector) -> str:
    """The account's customer, created by the customer sync."""
    return connector.create_account(make_account(), idempotency_key="create:001ACME").ref.id


def test_create_makes_an_inactive_sub_customer_under_the_parent_with_our_stamp(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox, parent_id: str
) -> None:
    # given a class and a department the landscape mapped the engagement's codes to
    class_id = sandbox.add_class("Implementation")
    department_id = sandbox.add_department("Austin")
    # when the workflow creates the engagement's financial project
    record = connector.create_engagement(
        make_engagement(class_id=class_id, department_id=department_id),
        customer_id=parent_id,
        idempotency_key="opp:006ERP@2",
    )
    # then QuickBooks holds an inactive sub-customer of the account's customer, billed with it
    project = sandbox.project(record.ref.id)
    assert record.status is EngagementStatus.DRAFT
    assert (record.ref.system, record.ref.type) == (SystemName.QUICKBOOKS, "customer")
    assert project["Active"] is False and project["Job"] is True and project["BillWithParent"] is True
    assert project["ParentRef"]["value"] == parent_id
    assert project["FullyQualifiedName"] == "Acme Consulting Ltd:ERP rollout 2025"
    assert project["Level"] == 1
    # and its Notes carry the opportunity stamp plus the class and department for later postings
    assert project["Notes"].splitlines() == [
        "close2cash-ref:salesforce/opportunity/006ERP",
        f"close2cash-class:{class_id}",
        f"close2cash-department:{department_id}",
    ]


def test_the_same_requestid_makes_one_record(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox, parent_id: str
) -> None:
    first = connector.create_engagement(
        make_engagement(), customer_id=parent_id, idempotency_key="opp:006ERP@2"
    )
    version = sandbox.customer(first.ref.id)["SyncToken"]
    # when the task is retried and sends the same create again
    second = connector.create_engagement(
        make_engagement(), customer_id=parent_id, idempotency_key="opp:006ERP@2"
    )
    # then QBO replays the first answer: one sub-customer, not written again
    # (the sandbox's `writes` counts the batch of look-ups before the create as well, so it is not used)
    assert second.ref.id == first.ref.id
    assert sandbox.customer(first.ref.id)["SyncToken"] == version
    assert sum(1 for c in sandbox.customers() if c.get("Job")) == 1


def test_a_rerun_after_a_crash_finds_the_engagement_instead_of_duplicating_it(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox, parent_id: str
) -> None:
    assert connector.find_engagement(OPPORTUNITY) is None
    # given the create succeeded but the execution died before it recorded the id
    created = connector.create_engagement(
        make_engagement(), customer_id=parent_id, idempotency_key="opp:006ERP@2"
    )
    # when the rerun looks first, it finds the sub-customer by the opportunity's stamp (version ignored)
    found = connector.find_engagement(OPPORTUNITY.model_copy(update={"version": "9"}))
    assert found is not None and found.ref.id == created.ref.id and found.status is EngagementStatus.DRAFT
    # and a create under a fresh key (requestid window passed) links it through the 6240 duplicate name
    again = connector.create_engagement(
        make_engagement(), customer_id=parent_id, idempotency_key="opp:006ERP@3"
    )
    assert again.ref.id == created.ref.id
    assert sum(1 for c in sandbox.customers() if c.get("Job")) == 1
    # but another opportunity's engagement is not ours
    other = OPPORTUNITY.model_copy(update={"id": "006OTHER"})
    assert connector.find_engagement(other) is None


def test_a_missing_class_is_a_clear_error_and_nothing_is_written(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox, parent_id: str
) -> None:
    # (the sandbox's `writes` counts a batch of look-ups too, so the customers are counted instead)
    customers = [(c["Id"], c["SyncToken"]) for c in sandbox.customers()]
    with pytest.raises(ValidationFailed, match=r"class '5000000000000000999' does not exist"):
        connector.create_engagement(
            make_engagement(class_id="5000000000000000999"), customer_id=parent_id, idempotency_key="k"
        )
    inactive = sandbox.add_department("Closed office", active=False)
    with pytest.raises(ValidationFailed, match=rf"department '{inactive}' \(Closed office\) is inactive"):
        connector.create_engagement(
            make_engagement(department_id=inactive), customer_id=parent_id, idempotency_key="k"
        )
    assert [(c["Id"], c["SyncToken"]) for c in sandbox.customers()] == customers


def test_an_inactive_or_foreign_currency_parent_is_refused_by_name(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox, parent_id: str
) -> None:
    with pytest.raises(ValidationFailed, match="in USD, the engagement in EUR"):
        connector.create_engagement(
            make_engagement(currency="EUR", budget=Money.of("1.00", "EUR")),
            customer_id=parent_id,
            idempotency_key="k",
        )
    sandbox.put_customer({"Id": parent_id, "Active": False})
    with pytest.raises(ValidationFailed, match=rf"customer {parent_id} \(Acme Consulting Ltd\) is inactive"):
        connector.create_engagement(make_engagement(), customer_id=parent_id, idempotency_key="k")


def test_activate_and_close_are_idempotent_and_keep_the_stamp(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox, parent_id: str
) -> None:
    draft = connector.create_engagement(make_engagement(), customer_id=parent_id, idempotency_key="k1")
    active = connector.activate_engagement(draft.ref.id)
    writes = sandbox.writes
    assert connector.activate_engagement(draft.ref.id).ref == active.ref  # no second write
    assert active.status is EngagementStatus.ACTIVE and sandbox.writes == writes
    assert sandbox.project(draft.ref.id)["Active"] is True

    # a second engagement, rejected at approval: compensation closes it, twice if it must
    rejected = connector.create_engagement(
        make_engagement(name="Data migration", opportunity=OPPORTUNITY.model_copy(update={"id": "006MIG"})),
        customer_id=parent_id,
        idempotency_key="k2",
    )
    closed = connector.close_engagement(rejected.ref.id, reason="rejected by finance: budget too high")
    writes = sandbox.writes
    again = connector.close_engagement(rejected.ref.id, reason="a later retry says something else")
    assert closed.status is EngagementStatus.CLOSED and again.ref == closed.ref and sandbox.writes == writes
    project = sandbox.project(rejected.ref.id)
    assert project["Active"] is False
    assert project["Notes"].splitlines() == [
        "close2cash-ref:salesforce/opportunity/006MIG",
        "close2cash-closed: rejected by finance: budget too high",
    ]
    # the stamp survives: a rerun still finds it (as CLOSED), and a closed engagement is not reactivated
    found = connector.find_engagement(OPPORTUNITY.model_copy(update={"id": "006MIG"}))
    assert found is not None and found.status is EngagementStatus.CLOSED
    with pytest.raises(ValidationFailed, match="cannot be activated"):
        connector.activate_engagement(rejected.ref.id)


def test_a_long_reason_is_cut_to_fit_the_notes(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox, parent_id: str
) -> None:
    draft = connector.create_engagement(make_engagement(), customer_id=parent_id, idempotency_key="k1")
    connector.close_engagement(draft.ref.id, reason="x" * 5000)
    notes = sandbox.project(draft.ref.id)["Notes"]
    assert len(notes) <= mapper.NOTES_MAX and notes.startswith("close2cash-ref:") and notes.endswith("...")


def test_close_after_a_bookkeeper_edit_rereads_and_keeps_their_notes(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox, parent_id: str
) -> None:
    draft = connector.create_engagement(make_engagement(), customer_id=parent_id, idempotency_key="k1")
    stamp = sandbox.project(draft.ref.id)["Notes"]
    sandbox.put_customer({"Id": draft.ref.id, "Notes": stamp + "\nPO 4711 expected in March"})
    connector.close_engagement(draft.ref.id, reason="rejected")
    assert sandbox.project(draft.ref.id)["Notes"].splitlines()[1:] == [
        "PO 4711 expected in March",
        "close2cash-closed: rejected",
    ]


def test_apply_rate_card_writes_nothing(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox, parent_id: str
) -> None:
    draft = connector.create_engagement(make_engagement(), customer_id=parent_id, idempotency_key="k1")
    writes, calls = sandbox.writes, connector.http_calls
    card = RateCard(
        source=SourceRef(system=SystemName.PRODUCTIVE, type="rate_card", id="RC-1"),
        id="RC-1",
        name="Standard 2025",
        currency="USD",
        lines=(
            RateCardLine(role="consultant", rate=Money.of("180.00", "USD"), effective_from=date(2025, 1, 1)),
        ),
    )
    connector.apply_rate_card(draft.ref.id, card)
    assert (sandbox.writes, connector.http_calls) == (writes, calls)


def test_a_sub_customer_is_never_an_account(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox, parent_id: str
) -> None:
    # given an engagement named like a customer the CRM will send later
    connector.create_engagement(
        make_engagement(name="Initech Advisory"), customer_id=parent_id, idempotency_key="k1"
    )
    # then the customer sync neither links the CRM's "Initech Advisory" account to it nor finds it as ours
    initech = make_account(crm_id="001INIT", name="Initech Advisory")
    assert connector.match_candidates(initech) == []
    assert connector.find_account(make_account()) is not None  # the parent still is
    assert connector.find_account(initech) is None


def test_reopen_takes_a_closed_engagement_back_to_draft_with_todays_class(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox, parent_id: str
) -> None:
    # given an engagement compensated after a bookkeeper noted something on it
    first_class, corrected_class = sandbox.add_class("Implementation"), sandbox.add_class("Advisory")
    draft = connector.create_engagement(
        make_engagement(class_id=first_class), customer_id=parent_id, idempotency_key="k1"
    )
    stamp = sandbox.project(draft.ref.id)["Notes"]
    sandbox.put_customer({"Id": draft.ref.id, "Notes": stamp + "\nPO 4711 expected in March"})
    connector.close_engagement(draft.ref.id, reason="class mapping was wrong")
    # when a retried setup reopens it with the corrected class
    reopened = connector.reopen_engagement(draft.ref.id, make_engagement(class_id=corrected_class))
    # then it is an inactive draft again, with the new class and without the closed mark
    assert reopened.status is EngagementStatus.DRAFT and reopened.ref.id == draft.ref.id
    project = sandbox.project(draft.ref.id)
    assert project["Active"] is False
    assert project["Notes"].splitlines() == [
        "close2cash-ref:salesforce/opportunity/006ERP",
        f"close2cash-class:{corrected_class}",
        "PO 4711 expected in March",
    ]
    # and reopening a draft again writes nothing, while activation now goes through
    writes = sandbox.writes
    assert connector.reopen_engagement(draft.ref.id, make_engagement()).status is EngagementStatus.DRAFT
    assert sandbox.writes == writes
    assert connector.activate_engagement(draft.ref.id).status is EngagementStatus.ACTIVE


def test_reopen_with_a_class_that_does_not_exist_is_refused_and_stays_closed(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox, parent_id: str
) -> None:
    draft = connector.create_engagement(make_engagement(), customer_id=parent_id, idempotency_key="k1")
    connector.close_engagement(draft.ref.id, reason="rejected")
    with pytest.raises(ValidationFailed, match="class '424242' does not exist"):
        connector.reopen_engagement(draft.ref.id, make_engagement(class_id="424242"))
    found = connector.find_engagement(OPPORTUNITY)
    assert found is not None and found.status is EngagementStatus.CLOSED


def test_two_clients_deals_of_the_same_name_get_two_sub_customers(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox, parent_id: str
) -> None:
    # given one client's engagement "ERP rollout 2025" exists
    first = connector.create_engagement(make_engagement(), customer_id=parent_id, idempotency_key="k1")
    other_parent = connector.create_account(
        make_account("001GLOBEX", name="Globex Corp"), idempotency_key="create:001GLOBEX"
    ).ref.id
    other_deal = OPPORTUNITY.model_copy(update={"id": "006GLX"})
    # when another client's deal has the same name (QBO names are unique across all customers)
    second = connector.create_engagement(
        make_engagement(opportunity=other_deal), customer_id=other_parent, idempotency_key="k2"
    )
    # then the second sub-customer is named after its deal as well, and a rerun finds it, not a third
    assert first.ref.id != second.ref.id
    assert sandbox.project(second.ref.id)["DisplayName"] == "ERP rollout 2025 (006GLX)"
    assert sandbox.project(second.ref.id)["FullyQualifiedName"] == "Globex Corp:ERP rollout 2025 (006GLX)"
    again = connector.create_engagement(
        make_engagement(opportunity=other_deal), customer_id=other_parent, idempotency_key="k2"
    )
    assert again.ref.id == second.ref.id
    assert len([c for c in sandbox.customers() if c.get("Job")]) == 2
