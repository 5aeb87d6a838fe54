"""Customer rules: names, sub-customer hierarchy, currency, sparse and full updates, SyncToken checks.

https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from infra.local.sandboxes.quickbooks.company import Company
from infra.local.sandboxes.quickbooks.faults import business_rule, fault, not_found, required_missing

# Sub-customers nest at most four levels below a top-level customer (five names in a
# FullyQualifiedName). https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer
MAX_LEVEL = 4
# The name lists whose DisplayNames share one namespace.
NAME_LISTS = ("Customer", "Vendor", "Employee")
CURRENCY_NAMES = {
    "USD": "United States Dollar",
    "EUR": "Euro",
    "GBP": "British Pound Sterling",
    "CAD": "Canadian Dollar",
    "AUD": "Australian Dollar",
}
READ_ONLY = frozenset(
    {
        "Id",
        "SyncToken",
        "MetaData",
        "FullyQualifiedName",
        "Balance",
        "BalanceWithJobs",
        "domain",
        "sparse",
        "Level",
    }
)
_NAME_PARTS = ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")
_INACTIVE = "Object Not Found : Something you're trying to use has been made inactive. "


def get_customer(company: Company, customer_id: str) -> dict[str, Any]:
    """A copy of the customer, or 610 (QBO says "made inactive" for a missing one too)."""
    return company.get("Customer", customer_id, f"{_INACTIVE}Customer {customer_id}")


def currency(code: str) -> dict[str, str]:
    """A CurrencyRef as QBO writes it (code and English name)."""
    return {"value": code, "name": CURRENCY_NAMES.get(code, code)}


def prune(value: Any) -> Any:
    """Empty strings clear a field: drop them, and drop objects left empty."""
    if isinstance(value, dict):
        kept = {key: prune(item) for key, item in value.items()}
        return {key: item for key, item in kept.items() if item not in ("", None, {})}
    return value


def writable(body: Mapping[str, Any], read_only: frozenset[str] = READ_ONLY) -> dict[str, Any]:
    """The fields of a request body a client may set."""
    return {key: value for key, value in body.items() if key not in read_only}


def derived_name(body: Mapping[str, Any]) -> str:
    """DisplayName, or QBO's default made of the name parts."""
    name = body.get("DisplayName")
    if isinstance(name, str) and name.strip():
        return name.strip()
    parts = [str(body[key]).strip() for key in _NAME_PARTS if body.get(key)]
    return " ".join(part for part in parts if part)


def check_name(company: Company, name: str, own_id: str | None, own_entity: str = "Customer") -> None:
    """Required, no colon, unique across the name lists (case-insensitive): 2020, 6000, 6240.

    "The DisplayName attribute ... must be unique across all Customer, Employee, and Vendor objects":
    https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/employee
    """
    if not name:
        raise required_missing(
            "Required parameter DisplayName (or Title, GivenName, MiddleName, FamilyName, Suffix) "
            "is missing in the request",
            "DisplayName",
        )
    if ":" in name:
        raise business_rule("A name cannot contain a colon (:).", "DisplayName")
    folded = name.casefold()
    others = (
        other
        for kind in NAME_LISTS
        for other in company.table(kind).values()
        if (kind, other["Id"]) != (own_entity, own_id)
    )
    for other in others:
        if str(other.get("DisplayName", "")).casefold() == folded:
            raise fault(
                400,
                "6240",
                "Duplicate Name Exists Error",
                "The name supplied already exists. : Another customer, vendor or employee is already "
                "using this name. Please use a different name.",
            )


def hierarchy(company: Company, fields: Mapping[str, Any], name: str, own_id: str | None) -> dict[str, Any]:
    """Job, Level and FullyQualifiedName for a customer, checked against its ParentRef.

    QBO answers a reference to an inactive record with 610 "made inactive" (the same fault as a
    missing one), and a sub-customer takes its parent's currency.
    https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer
    https://developer.intuit.com/app/developer/qbo/docs/develop/troubleshooting/error-codes
    """
    customers = company.table("Customer")
    parent_ref = fields.get("ParentRef")
    if not parent_ref:
        if fields.get("Job"):
            raise required_missing(
                "Required parameter ParentRef is missing in the request: a Job needs a parent customer",
                "ParentRef",
            )
        return {"Job": False, "Level": 0, "FullyQualifiedName": name}
    parent_id = str(parent_ref.get("value", ""))
    parent = customers.get(parent_id)
    if parent is None or not parent.get("Active", True):
        failure = not_found(
            "Customer",
            parent_id,
            f"{_INACTIVE}Check the fields with accounts, customers, items, vendors or employees. "
            f"Customer {parent_id}",
        )
        failure.body["Fault"]["Error"][0]["element"] = "ParentRef"
        raise failure
    ancestor: dict[str, Any] | None = parent
    while ancestor is not None and own_id is not None:
        if ancestor["Id"] == own_id:
            raise business_rule("A customer cannot be its own parent.", "ParentRef")
        up = ancestor.get("ParentRef")
        ancestor = customers.get(str(up["value"])) if up else None
    level = int(parent.get("Level", 0)) + 1
    if level > MAX_LEVEL:
        raise business_rule(f"Sub-customers can be nested at most {MAX_LEVEL} levels deep.", "ParentRef")
    requested = (fields.get("CurrencyRef") or {}).get("value")
    if requested and requested != parent["CurrencyRef"]["value"]:
        raise business_rule("A sub-customer must use the same currency as its parent.", "CurrencyRef")
    return {
        "Job": True,
        "ParentRef": {"value": parent_id, "name": parent["DisplayName"]},
        "Level": level,
        "FullyQualifiedName": f"{parent['FullyQualifiedName']}:{name}",
        "CurrencyRef": parent["CurrencyRef"],
    }


def rename_descendants(company: Company, parent_id: str) -> None:
    """A renamed customer renames every FullyQualifiedName below it (no SyncToken bump in QBO)."""
    customers = company.table("Customer")
    parent = customers[parent_id]
    for child in customers.values():
        if (child.get("ParentRef") or {}).get("value") == parent_id:
            child["ParentRef"] = {"value": parent_id, "name": parent["DisplayName"]}
            child["FullyQualifiedName"] = f"{parent['FullyQualifiedName']}:{child['DisplayName']}"
            rename_descendants(company, child["Id"])


def create_customer(company: Company, body: Mapping[str, Any]) -> dict[str, Any]:
    """POST /customer without an Id."""
    name = derived_name(body)
    check_name(company, name, None)
    fields = prune(writable(body))
    fields.update(hierarchy(company, fields, name, None))
    code = fields.get("CurrencyRef", {}).get("value") or company.home_currency
    customer: dict[str, Any] = {
        "Taxable": False,
        "Job": False,
        "BillWithParent": False,
        "Balance": 0,
        "BalanceWithJobs": 0,
        "PreferredDeliveryMethod": "Print",
        "Active": True,
        **fields,
        "DisplayName": name,
        "CurrencyRef": currency(code),
    }
    return company.stamp_new("Customer", company.next_id("Customer"), customer)


def check_sync_token(body: Mapping[str, Any], current: Mapping[str, Any]) -> None:
    """SyncToken is required on an update and must be the stored one (2020, 5010)."""
    sync_token = body.get("SyncToken")
    if sync_token is None:
        raise required_missing("Required parameter SyncToken is missing in the request", "SyncToken")
    if str(sync_token) != current["SyncToken"]:
        # https://developer.intuit.com/app/developer/qbo/docs/develop/troubleshooting/error-codes
        raise fault(
            400,
            "5010",
            "Stale Object Error",
            "Stale Object Error : You and QuickBooks User were working on this at the same time. "
            "QuickBooks User finished before you did, so your work was not saved.",
        )


def update_customer(company: Company, body: Mapping[str, Any]) -> dict[str, Any]:
    """POST /customer with Id and SyncToken: sparse (only the fields sent) or full (the rest cleared)."""
    customer_id = str(body.get("Id"))
    current = get_customer(company, customer_id)
    check_sync_token(body, current)
    changes = writable(body)
    requested_currency = (changes.get("CurrencyRef") or {}).get("value")
    if requested_currency and requested_currency != current["CurrencyRef"]["value"]:
        raise business_rule("You can't change the currency of a customer.", "CurrencyRef")
    if body.get("sparse") is True:
        merged = {**current, **changes}
    else:
        system = {key: current[key] for key in READ_ONLY if key in current}
        merged = {"Active": True, **changes, **system}
    merged = dict(prune(merged))
    name = derived_name(merged)
    check_name(company, name, customer_id)
    placed = hierarchy(company, {**merged, "CurrencyRef": None}, name, customer_id)
    if not placed["Job"]:
        merged.pop("ParentRef", None)
    merged.update(
        {
            **placed,
            "DisplayName": name,
            "CurrencyRef": current["CurrencyRef"],
            "Id": customer_id,
            "SyncToken": current["SyncToken"],
            "MetaData": current["MetaData"],
            "domain": "QBO",
            "sparse": False,
        }
    )
    company.bump(merged)
    company.table("Customer")[customer_id] = merged
    if merged["FullyQualifiedName"] != current["FullyQualifiedName"]:
        rename_descendants(company, customer_id)
    company.changed("Customer", customer_id, "Update")
    return merged
