"""Pure functions between the canonical model and Productive: Account <-> company, Engagement -> project.

Company attributes: https://developer.productive.io/companies.html and
https://developer.productive.io/reference/resources/companies.

How an engagement maps (Productive sells with deal -> budget -> project):

- The engagement is a **project** copied from the template project the landscape maps from the
  service line (`Engagement.template` is that template's project id): `POST /api/v2/projects/copy`
  with `template_id`, `company_id` and `project_type_id` 2 (client),
  https://developer.productive.io/projects.html. Copying brings the template's boards, task lists
  and settings; "The copy operation does not copy deals", so the budget is always made here.
- The money side is a **budget**: a `deals` record with `budget: true`, linked to the project and
  the client company, in the engagement's currency, dated from its start to its end date,
  https://developer.productive.io/deals.html ("If the request has budget: true the new record will
  be a budget"). Productive computes a budget's total from its services ("Total budget amount across
  all services", https://developer.productive.io/reference/resources/deals); there is no writable
  total, so the engagement's budget amount is not written as such (see `budget_attributes`).
- The rate card is one **service** per role on that budget, priced at the role's rate, billed on
  actuals per hour (`billing_type_id` 2, `unit_id` 1), each under a **service type** named after
  the role, https://developer.productive.io/services.html and
  https://developer.productive.io/service_types.html.
- Status: Productive projects are only active or archived (`filter[status]` 1 / 2 in
  https://developer.productive.io/projects.html), and it has no draft or unpublished project. A
  shell waiting for approval is therefore kept **archived** with its budget **open**: archived
  projects drop out of the people's project lists and planning, so nobody staffs or books on an
  unapproved engagement, and the budget stays editable for the rate card. Activation restores the
  project (`PATCH /projects/{id}/restore`). Compensation archives the project and **closes** the
  budget (`PATCH /deals/{id}/close`), which is what tells a rejected shell (closed budget) from a
  pending one (open budget).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from shared.connectors.productive.amounts import to_minor_units
from shared.connectors.productive.schemas import (
    CompanyAttributes,
    CompanyContact,
    CompanyResource,
    ContactAddress,
    DealResource,
    ProjectResource,
    ServiceResource,
)
from shared.domain.engagement_ports import EngagementRecord, EngagementStatus
from shared.domain.errors import ValidationFailed
from shared.domain.models import Account, PostalAddress, SourceRef, SystemName

if TYPE_CHECKING:
    # Typing only, as in shared.domain.ports: account sync imports this module and should not pay
    # for loading the engagement and commercial models on a cold start.
    from shared.domain.commercial import RateCard, RateCardLine
    from shared.domain.engagements import Engagement
    from shared.domain.money import Money

COMPANY_TYPE = "companies"  # JSON:API resource type
RECORD_TYPE = "company"  # SourceRef.type of a Productive company inside the hub
# JSON:API resource types of delivered work, also their SourceRef.type inside the hub
TIME_ENTRY_TYPE = "time_entries"
EXPENSE_TYPE = "expenses"

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_CONTACT_LABEL = "Work"
_BILLING_LABEL = "Billing"


def reference_code(source: SourceRef) -> str:
    """The CRM reference stamped on the company, in `company_code`, so `find_account` can find it again.

    Why `company_code` and not a custom field: the reference docs describe it as "an internal or external
    company code used for integrations or accounting references" and it is a documented filter with
    operations (`filter[company_code][eq]=...`), see https://developer.productive.io/companies.html and
    https://developer.productive.io/reference/resources/companies. A custom field would need a field
    definition created per organization first and its id configured here. The help centre calls the
    code "a unique code assigned to the company" (https://help.productive.io/en/articles/9583103), so a
    second create with the same code is refused by Productive itself. The system prefix keeps ids of two
    CRMs apart; the code is also used in invoice numbering, which a landscape must accept for this choice.
    """
    return f"{source.system.value}-{source.id}"


def name_prefixes(name: str) -> list[str]:
    """The leading words of `name`, shortest first: 'Acme Consulting, LLC' -> 'Acme', 'Acme Consulting', ...

    The first word is the widest net that still finds 'ACME Consulting' for 'Acme Consulting LLC'
    (legal suffixes, punctuation and case differ at the end, rarely at the start); longer prefixes
    narrow the search when a first word is so common that it finds too many companies.
    """
    words = [w.strip(".,;:!?()[]{}\"'") for w in name.split()]
    words = [w for w in words if w]
    return [" ".join(words[: n + 1]) for n in range(len(words))]


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    stripped = value.strip()
    return stripped or None


def company_attributes(account: Account) -> dict[str, Any]:
    """The company attributes (JSON:API `attributes`) that hold `account`; None fields become empty."""
    contact: dict[str, list[dict[str, Any]]] = {"emails": [], "phones": [], "websites": [], "addresses": []}
    if account.email:
        contact["emails"].append({"name": _CONTACT_LABEL, "email": account.email})
    if account.phone:
        contact["phones"].append({"name": _CONTACT_LABEL, "phone": account.phone})
    if account.website:
        contact["websites"].append({"name": _CONTACT_LABEL, "website": account.website})
    address = account.billing_address
    if address is not None and any(
        (address.street, address.city, address.region, address.postal_code, address.country)
    ):
        contact["addresses"].append(
            {
                "name": _BILLING_LABEL,
                "address": address.street,
                "city": address.city,
                "state": address.region,
                "zipcode": address.postal_code,
                "country": address.country,
                # the billing address is the one Productive prints on invoices (help: Adding Client Companies)
                "billing_address": True,
            }
        )
    attributes: dict[str, Any] = {
        "name": account.name,
        "default_currency": account.currency,
        "vat": account.tax_id,
        "company_code": reference_code(account.source),
        "contact": contact,
    }
    if account.payment_terms:
        # `due_days`: the client's payment term in days, as the landscape's payment_terms table
        # translates the owner's terms; sent only with a value, so a term nobody owns is not cleared.
        attributes["due_days"] = _due_days(account.payment_terms)
    return attributes


def _due_days(terms: str) -> int:
    try:
        days = int(terms.strip())
    except ValueError:
        raise ValidationFailed(
            f"payment terms {terms!r} are not a number of days, which is what Productive's due_days "
            "holds: map them to days in the landscape's payment_terms table"
        ) from None
    if not 0 <= days <= 365:
        raise ValidationFailed(f"payment terms of {days} days are outside 0..365")
    return days


def _billing_address(contact: CompanyContact) -> PostalAddress | None:
    candidates = [a for a in contact.addresses if a.billing_address] or list(contact.addresses)
    for entry in candidates:
        address = _address(entry)
        if address is not None:
            return address
    return None


def _address(entry: ContactAddress) -> PostalAddress | None:
    fields = {
        "street": _clean(entry.address),
        "city": _clean(entry.city),
        "region": _clean(entry.state),
        "postal_code": _clean(entry.zipcode),
        "country": _clean(entry.country),
    }
    if not any(fields.values()):
        return None
    return PostalAddress(**fields)


def _currency(value: str | None) -> str | None:
    cleaned = _clean(value)
    if cleaned is None:
        return None
    upper = cleaned.upper()
    return upper if _CURRENCY.match(upper) else None


def reference_origin(code: str | None) -> SourceRef | None:
    """The system-of-record record a `company_code` stamp names (`reference_code`), else None."""
    system, sep, record_id = (code or "").strip().partition("-")
    if not sep or not record_id or system not in _SYSTEMS:
        return None
    return SourceRef(system=SystemName(system), type="account", id=record_id)


_SYSTEMS = frozenset(system.value for system in SystemName)


def company_ref(company_id: str, version: str | None = None) -> SourceRef:
    """The hub's reference to one Productive company (version = its `updated_at`)."""
    return SourceRef(system=SystemName.PRODUCTIVE, type=RECORD_TYPE, id=company_id, version=version)


def account_from_attributes(attributes: CompanyAttributes, source: SourceRef) -> Account:
    """The canonical view of a company's attributes, as seen through the Account model."""
    contact = attributes.contact or CompanyContact()
    email = next((e for e in (_clean(x.email) for x in contact.emails) if e), None)
    phone = next((p for p in (_clean(x.phone) for x in contact.phones) if p), None)
    website = next((w for w in (_clean(x.website) for x in contact.websites) if w), None)
    return Account(
        source=source,
        name=_clean(attributes.name) or "",
        website=website,
        phone=phone,
        email=email,
        billing_address=_billing_address(contact),
        currency=_currency(attributes.default_currency),
        tax_id=_clean(attributes.vat),
        payment_terms=str(attributes.due_days) if attributes.due_days is not None else None,
    )


def account_from_company(company: CompanyResource) -> Account:
    """The canonical view of a company read from Productive (source = the company, version = updated_at)."""
    view = account_from_attributes(company.attributes, company_ref(company.id, company.attributes.updated_at))
    modified = parse_timestamp(company.attributes.updated_at)
    return view.model_copy(update={"modified_at": modified}) if modified is not None else view


def project(account: Account) -> Account:
    """What a company holds after `account` is written: the same write-then-read path, without the API.

    Every field of the canonical Account has a home on a company, so nothing is dropped; empty
    strings and all-empty addresses normalise to None exactly as `account_from_company` reads them.
    """
    attributes = CompanyAttributes.model_validate(company_attributes(account))
    projected = account_from_attributes(attributes, account.source)
    return projected.model_copy(update={"modified_at": account.modified_at})


def parse_timestamp(value: str | None) -> datetime | None:
    """A Productive ISO 8601 timestamp as an aware UTC datetime (None when absent or unreadable)."""
    if not value:
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        # Productive timestamps carry an offset; a bare one is read as UTC rather than local time
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # an instant UTC cannot hold, e.g. 9999-12-31T23:59:59-23:59
        return None


# --- engagements ----------------------------------------------------------------------------

PROJECT_TYPE = "projects"
PROJECT_RECORD_TYPE = "project"  # SourceRef.type of a Productive project inside the hub
CLIENT_PROJECT = 2  # project_type_id, https://developer.productive.io/projects.html (1 internal, 2 client)
BUDGET_FILTER = "2"  # deals filter[type], https://developer.productive.io/deals.html (1 deal, 2 budget)
UNIT_HOUR = 1  # services unit_id, https://developer.productive.io/services.html (1 hour, 2 piece, 3 day)
BILLING_ACTUALS = 2  # services billing_type_id: "2 (Time and Materials / Actuals)"


def engagement_reference(opportunity: SourceRef) -> str:
    """The CRM opportunity reference stamped on the project, in `project_number`.

    Why `project_number`: it is the project's own identifier field, shown next to its name in
    Productive, so a person can also see which opportunity a project came from; a custom field would
    need a definition created per organization and its id configured first, as for companies (see
    `reference_code`). The projects endpoint has no exact filter on it, only the free-text `query`
    (https://developer.productive.io/projects.html "Supported filter params"), so the connector
    searches with `query` and then compares `project_number` exactly itself. The system prefix keeps
    the ids of two CRMs apart.
    """
    return f"{opportunity.system.value}-{opportunity.id}"


def related_id(project: ProjectResource, name: str) -> str | None:
    """The id a project's relationship `name` points at, when Productive sent it."""
    relationship = project.relationships.get(name)
    return relationship.data.id if relationship is not None and relationship.data is not None else None


def is_engagement_reference(project_number: str | None) -> bool:
    """True when `project_number` is a stamp of this hub (some CRM's opportunity), not Productive's own."""
    number = (project_number or "").strip()
    return any(number.startswith(f"{system.value}-") for system in SystemName)


def opportunity_of(engagement: Engagement) -> SourceRef:
    """The opportunity the engagement was set up from; without one it cannot be found again."""
    if engagement.opportunity is None:
        raise ValidationFailed(
            f"engagement {engagement.source} has no opportunity: Productive finds an engagement again "
            "only by the opportunity reference stamped on its project"
        )
    return engagement.opportunity


def project_copy_attributes(engagement: Engagement, *, customer_id: str) -> dict[str, Any]:
    """The body attributes of `POST /projects/copy` that create the engagement from its template."""
    return {
        "name": engagement.name,
        "template_id": engagement.template,
        "company_id": customer_id,
        "project_type_id": CLIENT_PROJECT,
        # The template's structure is wanted, not the template's people or its (empty) budgets:
        # staffing happens after approval, and the budget is created from the engagement below.
        "copy_assignees": False,
        "copy_budgets": False,
    }


def budget_attributes(engagement: Engagement) -> dict[str, Any]:
    """The attributes of the budget (`deals` with `budget: true`) that carries the engagement's money.

    The budget amount itself is not among them: Productive derives a budget's total from its services
    ("Total budget amount across all services", https://developer.productive.io/reference/resources/deals)
    and documents no writable total, so the amount is held by the hub's record of the engagement.
    """
    attributes: dict[str, Any] = {
        "name": engagement.name,
        "budget": True,
        "currency": engagement.currency,
        "date": engagement.start_date.isoformat(),
        "end_date": engagement.end_date.isoformat() if engagement.end_date else None,
        # deal_type_id 2 = client (https://developer.productive.io/deals.html "Deal type")
        "deal_type_id": 2,
    }
    return attributes


def project_ref(project_id: str, version: str | None = None) -> SourceRef:
    """The hub's reference to one Productive project."""
    return SourceRef(system=SystemName.PRODUCTIVE, type=PROJECT_RECORD_TYPE, id=project_id, version=version)


def engagement_status(project: ProjectResource, budgets: Iterable[DealResource]) -> EngagementStatus:
    """ACTIVE when the project is not archived and has a budget; archived with every budget closed is
    CLOSED; else DRAFT.

    An open project without any budget is one whose creation was cut short before it was archived
    (the connector's order is copy, stamp, milestones, archive, budget): a DRAFT to finish, not an
    engagement a person approved, so a retried setup step finishes it instead of passing it by.
    """
    budget_list = list(budgets)
    if project.attributes.archived_at is None:
        return EngagementStatus.ACTIVE if budget_list else EngagementStatus.DRAFT
    if budget_list and all(b.attributes.closed_at for b in budget_list):
        return EngagementStatus.CLOSED
    return EngagementStatus.DRAFT


def engagement_record(project: ProjectResource, budgets: Iterable[DealResource]) -> EngagementRecord:
    """The project (and its budgets' state) as an EngagementRecord."""
    return EngagementRecord(
        ref=project_ref(project.id),
        status=engagement_status(project, budgets),
        name=project.attributes.name or "",
    )


def role_rates(rate_card: RateCard, on: date) -> dict[str, Money]:
    """One price per role for a budget starting `on`: the rate in effect that day, else the next one.

    A service has a single price (https://developer.productive.io/services.html), so a card's later
    rate changes cannot all be carried; the rate the engagement starts with is the one that applies
    first. A role whose rates all ended before `on` is left out: it was never sold for this period.
    """
    by_role: dict[str, list[RateCardLine]] = {}
    for line in rate_card.lines:
        by_role.setdefault(line.role, []).append(line)
    rates: dict[str, Money] = {}
    for role, lines in by_role.items():
        current = [line for line in lines if line.covers(on)]
        upcoming = sorted(
            (line for line in lines if line.effective_from > on), key=lambda x: x.effective_from
        )
        chosen = current[0] if current else (upcoming[0] if upcoming else None)
        if chosen is not None:
            rates[role] = chosen.rate
    return rates


def price_value(rate: Money) -> str:
    """A rate as a service `price`: in the currency's minor unit (cents), as Productive stores money.

    Productive sends and takes amounts in cents (e.g. `rate_cents` on deal cost rates and budget totals
    in cents, https://developer.productive.io/reference/resources/deals); JPY has no minor unit, so
    its price is the whole amount.
    """
    return str(to_minor_units(rate))


def service_attributes(role: str, rate: Money, quantity: Decimal | None = None) -> dict[str, Any]:
    """The attributes of the service that prices `role` on the budget, with the hours sold: Productive
    totals a budget as its services' price x quantity ("Total budget amount across all services",
    https://developer.productive.io/reference/resources/deals), so the budget shows what was booked."""
    attributes: dict[str, Any] = {
        "name": role,
        "price": price_value(rate),
        "unit_id": UNIT_HOUR,
        "billing_type_id": BILLING_ACTUALS,
    }
    if quantity is not None:
        attributes["quantity"] = str(quantity)
    return attributes


def role_quantities(rate_card: RateCard) -> dict[str, Decimal]:
    """The hours sold per role (the first line of a role that says so)."""
    sold: dict[str, Decimal] = {}
    for line in rate_card.lines:
        if line.quantity is not None:
            sold.setdefault(line.role, line.quantity)
    return sold


def service_quantity_equals(service: ServiceResource, quantity: Decimal | None) -> bool:
    """Whether the service already carries `quantity` (None: the card sold none, nothing to set)."""
    if quantity is None:
        return True
    try:
        return Decimal(str(service.attributes.quantity)) == quantity
    except ArithmeticError:
        return False


def service_price_equals(service: ServiceResource, rate: Money) -> bool:
    """Whether the service already carries `rate` (prices come back as "12000" or "12000.0")."""
    raw = service.attributes.price
    if raw is None:
        return False
    try:
        return Decimal(str(raw)) == Decimal(price_value(rate))
    except ArithmeticError:
        return False
