"""An invoice's Billable Time (`time`) and Billable Expenses (`expCost`) sublists: what they bill.

What an accountant would see: time put on an invoice shows billed and is not offered (nor accepted)
on a second invoice; the invoice's total holds it; deleting the invoice makes the time billable again.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from infra.local.sandboxes.netsuite import NetSuiteSandbox
from tests.local.sandboxes.netsuite.conftest import RECORDS, Create, created_id, error_of


@pytest.fixture
def refs(netsuite: NetSuiteSandbox, create: Create) -> dict[str, str]:
    customer = create("customer", {"companyName": "Acme Corp"})
    other = create("customer", {"companyName": "Globex"})
    employee = netsuite.add_employee("Emily", "Platt")
    item = netsuite.add_item("Consulting")
    project = create("job", {"companyName": "Rollout", "parent": {"id": customer}})
    time = {"employee": {"id": employee}, "item": {"id": item}, "tranDate": "2026-11-30", "rate": 150}
    category = netsuite.add_expense_category("Travel")
    return {
        "customer": customer,
        "other": other,
        "project": project,
        "item": item,
        # 2.5 h at 150 = 375.00 on the project; 1 h on the other customer
        "time": create("timeBill", {**time, "customer": {"id": project}, "hours": 2.5}),
        "elsewhere": create("timeBill", {**time, "customer": {"id": other}, "hours": 1}),
        "expenses": create(
            "expenseReport",
            {
                "entity": {"id": employee},
                "expense": {
                    "items": [
                        {
                            "category": {"id": category},
                            "amount": 89.99,
                            "customer": {"id": project},
                            "isBillable": True,
                        }
                    ]
                },
            },
        ),
    }


def _invoice(refs: dict[str, str], **sublists: Any) -> dict[str, Any]:
    return {
        "entity": {"id": refs["project"]},
        "item": {"items": [{"item": {"id": refs["item"]}, "amount": 100}]},
        **{name: {"items": lines} for name, lines in sublists.items()},
    }


def _status(api: httpx.Client, time_bill: str) -> Any:
    return api.get(f"{RECORDS}/timeBill/{time_bill}").json().get("status")


def test_time_and_expenses_on_an_invoice_count_in_its_total_and_the_time_shows_billed(
    api: httpx.Client, create: Create, refs: dict[str, str]
) -> None:
    # given a project's unbilled time bill (2.5 h at 150) and its billable expense report (89.99)
    assert _status(api, refs["time"]) is None
    # when an invoice carries an item line of 100, the time (no amount sent) and the expense
    invoice = create(
        "invoice",
        _invoice(
            refs,
            time=[{"apply": True, "doc": {"id": refs["time"]}}],
            expCost=[{"apply": True, "doc": {"id": refs["expenses"]}}],
        ),
    )
    # then its total holds all three, and the time bill shows Billed
    body = api.get(f"{RECORDS}/invoice/{invoice}", params={"expandSubResources": "true"}).json()
    assert Decimal(str(body["total"])) == Decimal("564.99")
    assert [line["amount"] for line in body["time"]["items"]] == [375.0]
    assert body["time"]["items"][0]["doc"]["id"] == refs["time"]
    assert _status(api, refs["time"]) == "Billed"


def test_an_invoice_of_billable_time_alone_needs_no_item_line_and_keeps_the_amount_sent(
    api: httpx.Client, create: Create, refs: dict[str, str]
) -> None:
    # when an invoice carries only the time, with the amount the biller worked out (2.5 x 150.004)
    body = {
        "entity": {"id": refs["customer"]},
        "time": {
            "items": [{"doc": {"id": refs["time"]}, "quantity": 2.5, "rate": 150.004, "amount": 375.01}]
        },
    }
    invoice = create("invoice", body)
    # then NetSuite takes it, and its total is that amount
    assert api.get(f"{RECORDS}/invoice/{invoice}").json()["total"] == 375.01


def test_a_time_line_naming_no_time_bill_is_invalid_content_at_its_doc(
    api: httpx.Client, refs: dict[str, str]
) -> None:
    # when an invoice's time line names an id that is no time bill
    answer = api.post(f"{RECORDS}/invoice", json=_invoice(refs, time=[{"doc": {"id": "99999"}}]))
    # then NetSuite refuses the reference, naming where it is
    assert answer.status_code == 400
    assert error_of(answer)["o:errorCode"] == "INVALID_CONTENT"
    assert error_of(answer)["o:errorPath"] == "time.items[0].doc"


def test_another_customers_time_is_refused_and_nothing_is_billed(
    api: httpx.Client, refs: dict[str, str]
) -> None:
    # when Acme's invoice tries to bill Globex's hour
    answer = api.post(f"{RECORDS}/invoice", json=_invoice(refs, time=[{"doc": {"id": refs["elsewhere"]}}]))
    # then NetSuite refuses it at that line, and Globex's hour is still unbilled
    assert answer.status_code == 400
    assert error_of(answer)["o:errorCode"] == "USER_ERROR"
    assert error_of(answer)["o:errorPath"] == "time.items[0].doc"
    assert _status(api, refs["elsewhere"]) is None


@pytest.mark.parametrize("sublist", ["time", "expCost"])
def test_time_or_an_expense_already_on_an_invoice_is_refused_on_a_second(
    api: httpx.Client, create: Create, refs: dict[str, str], sublist: str
) -> None:
    # given an invoice that bills the time (or the expense report)
    doc = refs["time"] if sublist == "time" else refs["expenses"]
    first = create("invoice", _invoice(refs, **{sublist: [{"doc": {"id": doc}}]}))
    # when a second invoice tries to bill it again
    answer = api.post(f"{RECORDS}/invoice", json=_invoice(refs, **{sublist: [{"doc": {"id": doc}}]}))
    # then NetSuite refuses it (an hour is not billed twice), naming the first invoice
    assert answer.status_code == 400, answer.text
    assert error_of(answer)["o:errorCode"] == "USER_ERROR"
    assert error_of(answer)["o:errorPath"] == f"{sublist}.items[0].doc"
    tran_id = api.get(f"{RECORDS}/invoice/{first}").json()["tranId"]
    assert tran_id in error_of(answer)["detail"]


def test_time_billed_in_the_ui_is_refused_on_an_invoice(
    api: httpx.Client, netsuite: NetSuiteSandbox, refs: dict[str, str]
) -> None:
    # given time a user billed on an invoice in the UI
    netsuite.bill_time(refs["time"])
    # when an invoice posted through REST tries to bill it
    answer = api.post(f"{RECORDS}/invoice", json=_invoice(refs, time=[{"doc": {"id": refs["time"]}}]))
    # then it is refused as billed already
    assert answer.status_code == 400
    assert "already been billed" in error_of(answer)["detail"]


def test_an_invoice_sent_again_whole_keeps_its_own_time(
    api: httpx.Client, netsuite: NetSuiteSandbox, refs: dict[str, str]
) -> None:
    # given an invoice upserted with the time (a lost answer: the PUT is sent again, lines replaced)
    body = _invoice(refs, time=[{"doc": {"id": refs["time"]}, "amount": 375}])
    url = f"{RECORDS}/invoice/eid:c2c-bill-1"
    params = {"replace": "item,time,expCost"}
    assert api.put(url, json=body, params=params).status_code == 204
    # when the same PUT arrives again
    answer = api.put(url, json=body, params=params)
    # then it is accepted, one set of lines, the time still billed
    assert answer.status_code == 204, answer.text
    (stored,) = netsuite.records("invoice")
    assert (len(stored["item"]), len(stored["time"]), stored["total"]) == (1, 1, Decimal("475.00"))
    assert _status(api, refs["time"]) == "Billed"


def test_deleting_the_invoice_or_replacing_its_time_away_makes_the_time_billable_again(
    api: httpx.Client, create: Create, refs: dict[str, str]
) -> None:
    # given an invoice that bills the time
    invoice = create("invoice", _invoice(refs, time=[{"doc": {"id": refs["time"]}}]))
    # when its time lines are replaced by none
    edited = api.patch(
        f"{RECORDS}/invoice/{invoice}", json={"time": {"items": []}}, params={"replace": "time"}
    )
    assert edited.status_code == 204, edited.text
    # then the time is billable again (and the total lost it)
    assert _status(api, refs["time"]) is None
    assert api.get(f"{RECORDS}/invoice/{invoice}").json()["total"] == 100.0
    # and once billed on a second invoice that is then deleted, it is billable again too
    second = create("invoice", _invoice(refs, time=[{"doc": {"id": refs["time"]}}]))
    assert _status(api, refs["time"]) == "Billed"
    assert api.delete(f"{RECORDS}/invoice/{second}").status_code == 204
    assert _status(api, refs["time"]) is None
    created_id(api.post(f"{RECORDS}/invoice", json=_invoice(refs, time=[{"doc": {"id": refs["time"]}}])))
