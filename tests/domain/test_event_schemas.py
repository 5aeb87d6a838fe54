"""Committed event schemas match the models, accept every event, and break only with a version bump.

Example events are validated against the committed files with `jsonschema` (Draft 2020-12), which
is in the dev environment as a dependency of moto[server]'s OpenAPI validators, not declared by us.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from shared.domain import schemas
from shared.domain.billing import CreditMemo, Invoice, InvoiceLine, Payment, PaymentAllocation
from shared.domain.capacity import WorkerCapacity
from shared.domain.commercial import Opportunity, OpportunityStatus
from shared.domain.delivery import ExpenseEntry, TimeEntry
from shared.domain.dimensions import FinancialDimensions
from shared.domain.engagements import BillingModel, Engagement
from shared.domain.events import (
    EVENT_TYPES,
    EVENT_VERSIONS,
    AccountChanged,
    CapacityChanged,
    CreditMemoIssued,
    DomainEvent,
    EngagementActivated,
    ExpenseApproved,
    InvoicePosted,
    InvoiceRejected,
    InvoiceRejection,
    OpportunityChanged,
    OpportunityClosedWon,
    PaymentReceived,
    RecordWithdrawal,
    RecordWithdrawn,
    TimeApproved,
)
from shared.domain.models import Account, PostalAddress, SourceRef, SystemName
from shared.domain.money import Money

WHEN = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)


def _account() -> Account:
    return Account(
        source=SourceRef(system=SystemName.SALESFORCE, type="account", id="001Qy00000Acme", version="7"),
        name="Acme Consulting GmbH",
        website="https://acme.example",
        billing_address=PostalAddress(city="Berlin", country="DE"),
        currency="EUR",
        modified_at=WHEN,
    )


def _ref(system: SystemName, kind: str, record_id: str) -> SourceRef:
    return SourceRef(system=system, type=kind, id=record_id)


ACCOUNT = _ref(SystemName.SALESFORCE, "account", "001Qy00000Acme")
PROJECT = _ref(SystemName.PRODUCTIVE, "project", "P-77")
WORKER = _ref(SystemName.PRODUCTIVE, "person", "W-5")
INVOICE = _ref(SystemName.QUICKBOOKS, "invoice", "1042")
CUSTOMER = _ref(SystemName.QUICKBOOKS, "customer", "58")
LINE = InvoiceLine(
    description="Advisory, March",
    quantity=Decimal("12.5"),
    unit_price=Money.of("180.00", "EUR"),
    tax_code="S",
    tax_rate=19,
)


def _invoice() -> Invoice:
    return Invoice(
        source=INVOICE,
        number="INV-1042",
        customer=CUSTOMER,
        legal_entity="DE01",
        currency="EUR",
        issue_date=date(2025, 3, 31),
        due_date=date(2025, 4, 30),
        lines=(LINE,),
    )


def _example(cls: type[DomainEvent[Any]], data: Any) -> DomainEvent[Any]:
    return cls.about(data, correlation_id="flow-42", occurred_at=WHEN)


EXAMPLES: dict[type[DomainEvent[Any]], DomainEvent[Any]] = {
    AccountChanged: _example(AccountChanged, _account()),
    OpportunityChanged: _example(
        OpportunityChanged,
        Opportunity(
            source=_ref(SystemName.SALESFORCE, "opportunity", "006Qy2"),
            account=ACCOUNT,
            name="Acme audit",
            stage="Negotiation",
            status=OpportunityStatus.OPEN,
            close_date=date(2025, 6, 30),
            amount=Money.of("20000.00", "EUR"),
            probability=Decimal("60"),
            service_line="audit",
        ),
    ),
    OpportunityClosedWon: _example(
        OpportunityClosedWon,
        Opportunity(
            source=_ref(SystemName.SALESFORCE, "opportunity", "006Qy1"),
            account=ACCOUNT,
            name="Acme advisory",
            stage="Closed Won",
            status=OpportunityStatus.WON,
            close_date=date(2025, 3, 1),
            amount=Money.of("45000.00", "EUR"),
            service_line="advisory",
        ),
    ),
    EngagementActivated: _example(
        EngagementActivated,
        Engagement(
            source=PROJECT,
            name="Acme advisory 2025",
            account=ACCOUNT,
            template="advisory-t&m",
            billing_model=BillingModel.TIME_AND_MATERIALS,
            currency="EUR",
            dimensions=FinancialDimensions(legal_entity="DE01"),
            budget=Money.of("45000.00", "EUR"),
            rate_card=_ref(SystemName.PRODUCTIVE, "rate_card", "RC-1"),
            start_date=date(2025, 3, 3),
            approved_at=WHEN,
        ),
    ),
    TimeApproved: _example(
        TimeApproved,
        TimeEntry(
            source=_ref(SystemName.PRODUCTIVE, "time_entry", "T-8812"),
            project=PROJECT,
            worker=WORKER,
            worked_on=date(2025, 3, 12),
            hours=Decimal("7.5"),
            rate=Money.of("180.00", "EUR"),
            billable=True,
            approved_at=WHEN,
        ),
    ),
    ExpenseApproved: _example(
        ExpenseApproved,
        ExpenseEntry(
            source=_ref(SystemName.PRODUCTIVE, "expense", "E-31"),
            project=PROJECT,
            worker=WORKER,
            receipt_date=date(2025, 3, 11),
            category="travel",
            amount=Money.of("212.40", "EUR"),
            billable=True,
        ),
    ),
    InvoicePosted: _example(InvoicePosted, _invoice()),
    InvoiceRejected: _example(
        InvoiceRejected, InvoiceRejection(invoice=INVOICE, reason="customer 58 is inactive in QuickBooks")
    ),
    PaymentReceived: _example(
        PaymentReceived,
        Payment(
            source=_ref(SystemName.QUICKBOOKS, "payment", "P-9"),
            customer=CUSTOMER,
            amount=Money.of("2677.50", "EUR"),
            received_on=date(2025, 4, 20),
            allocations=(PaymentAllocation(invoice=INVOICE, amount=Money.of("2677.50", "EUR")),),
        ),
    ),
    CreditMemoIssued: _example(
        CreditMemoIssued,
        CreditMemo(
            source=_ref(SystemName.QUICKBOOKS, "credit_memo", "CM-3"),
            number="CM-3",
            customer=CUSTOMER,
            legal_entity="DE01",
            currency="EUR",
            issue_date=date(2025, 4, 2),
            lines=(LINE,),
            credits_invoice=INVOICE,
            reason="hours billed twice",
        ),
    ),
    RecordWithdrawn: _example(
        RecordWithdrawn,
        RecordWithdrawal(
            record=_ref(SystemName.PRODUCTIVE, "time_entry", "T-8812"),
            withdraws="close2cash.time.approved",
            reason="deleted in the PSA",
        ),
    ),
    CapacityChanged: _example(
        CapacityChanged,
        WorkerCapacity(
            source=_ref(SystemName.PRODUCTIVE, "salary", "254"),
            worker=_ref(SystemName.PRODUCTIVE, "person", "77"),
            period_start=date(2025, 3, 1),
            period_end=date(2025, 3, 31),
            capacity_hours=Decimal("168"),
            cost_rate=Money.of("20.00", "EUR"),
        ),
    ),
}


def test_committed_schemas_match_the_models():
    # given the models as they are now, when the schemas are generated, then the committed files equal them
    found = schemas.drift()
    assert not found, (
        f"event schemas are out of date; run `{schemas.REGENERATE}` and commit the result "
        f"(a breaking change needs a new schema_version, see shared/domain/events.py):\n{found.report()}"
    )


def test_every_readable_event_version_has_an_example():
    assert set(EXAMPLES) == set(EVENT_VERSIONS.values())


@pytest.mark.parametrize("cls", EVENT_VERSIONS.values(), ids=lambda c: c.__name__)
def test_each_example_event_validates_against_its_committed_schema(cls):
    path = schemas.SCHEMA_DIR / schemas.file_name(cls.event_type(), cls.event_version())
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    errors = [
        e.message for e in Draft202012Validator(schema).iter_errors(EXAMPLES[cls].model_dump(mode="json"))
    ]
    assert errors == []


@pytest.mark.parametrize("cls", EVENT_VERSIONS.values(), ids=lambda c: c.__name__)
def test_each_committed_schema_rejects_an_event_of_another_type(cls):
    path = schemas.SCHEMA_DIR / schemas.file_name(cls.event_type(), cls.event_version())
    validator = Draft202012Validator(json.loads(path.read_text(encoding="utf-8")))
    wrong = EXAMPLES[cls].model_dump(mode="json") | {"type": "close2cash.something.else"}
    assert not validator.is_valid(wrong)
    unversioned = {k: v for k, v in EXAMPLES[cls].model_dump(mode="json").items() if k != "schema_version"}
    assert not validator.is_valid(unversioned)


def test_schema_files_are_named_and_identified_by_type_and_version():
    for (event_type, version), cls in EVENT_VERSIONS.items():
        schema = schemas.schema_for(cls)
        assert schema["$id"] == f"urn:close2cash:event:{event_type}:v{version}"
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["title"] == schemas.title_for(event_type)
    assert schemas.title_for("close2cash.credit_memo.issued") == "CreditMemoIssued"
    assert set(EVENT_TYPES) == {t for t, _ in EVENT_VERSIONS}


def test_check_command_lists_stale_missing_and_extra_files(tmp_path, capsys, monkeypatch):
    # given a stale copy of one schema, none of the others, and one left over from a removed event
    generated = schemas.expected()
    first, *others = sorted(generated)
    (tmp_path / first).write_text(generated[first].replace("\n", "\n ", 1))
    (tmp_path / "close2cash.gone.away.v1.json").write_text("{}\n")
    from shared.domain.schemas import __main__ as command

    monkeypatch.setattr(command, "drift", lambda: schemas.drift(tmp_path))
    # when the check runs
    code = command.main(["--check"])
    # then it fails naming each file and the command that fixes it
    out = capsys.readouterr().out
    assert code == 1
    assert f"stale:   {first}" in out
    assert all(f"missing: {name}" in out for name in others)
    assert "extra:   close2cash.gone.away.v1.json" in out
    assert schemas.REGENERATE in out


def test_check_command_passes_on_the_committed_schemas(capsys):
    from shared.domain.schemas import __main__ as command

    assert command.main(["--check"]) == 0


def test_writing_refuses_a_breaking_change_to_a_committed_version(tmp_path):
    # given v1 committed when its model still had a field the current model lacks
    name = schemas.file_name(AccountChanged.event_type(), 1)
    old = json.loads(schemas.expected()[name])
    old["$defs"]["Account"]["properties"]["legacy_code"] = {"type": "string"}
    (tmp_path / name).write_text(schemas.render(old))
    # when the schemas are regenerated
    found = schemas.write(tmp_path)
    # then nothing is overwritten and the removed field is named as breaking
    assert found.stale[name] == ["$.data.legacy_code removed"]
    assert json.loads((tmp_path / name).read_text()) == old
    # unless the author says this version was never deployed
    schemas.write(tmp_path, allow_breaking=True)
    assert (tmp_path / name).read_text() == schemas.expected()[name]


def _schema(**props: Any) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "properties": props, "required": ["a"]}


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # additive: a new optional field, a longer limit, a wider union, more enum values, a new description
        (_schema(a={"type": "string"}), _schema(a={"type": "string"}, b={"type": "integer"}), []),
        (_schema(a={"maxLength": 10}), _schema(a={"maxLength": 20}), []),
        (
            _schema(a={"type": "string"}),
            _schema(a={"anyOf": [{"type": "string"}, {"type": "null"}]}),
            [],
        ),
        (_schema(a={"enum": ["x"]}), _schema(a={"enum": ["x", "y"]}), []),
        (_schema(a={"type": "string"}), _schema(a={"type": "string", "description": "why"}), []),
        # breaking: removed, newly required, narrowed, retyped, tightened
        (_schema(a={"type": "string"}, b={"type": "string"}), _schema(a={"type": "string"}), ["$.b removed"]),
        (
            _schema(a={"type": "string"}, b={"type": "string"}),
            {**_schema(a={"type": "string"}, b={"type": "string"}), "required": ["a", "b"]},
            ["$.b became required"],
        ),
        (
            _schema(a={"enum": ["x", "y"]}),
            _schema(a={"enum": ["x"]}),
            ["$.a.enum changed ['x', 'y'] -> ['x']"],
        ),
        (
            _schema(a={"type": "string"}),
            _schema(a={"type": "integer"}),
            ["$.a.type changed 'string' -> 'integer'"],
        ),
        (
            _schema(a={"type": "string"}),
            _schema(a={"type": "string", "pattern": "^x"}),
            ["$.a gained constraint pattern='^x'"],
        ),
        (
            _schema(a={"anyOf": [{"type": "string"}, {"type": "null"}]}),
            _schema(a={"anyOf": [{"type": "string"}]}),
            ["$.a anyOf[1] no longer accepted"],
        ),
    ],
)
def test_breaking_changes_are_those_that_reject_an_event_the_old_schema_accepted(old, new, expected):
    assert schemas.breaking_changes(old, new) == expected
