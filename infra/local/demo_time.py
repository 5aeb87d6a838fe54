"""The demo's delivery chapter: consultants log time and an expense in Productive, QuickBooks gets them.

Two consultants book on the engagement the demo just set up: one entry is approved while the
engagement still waits for its approval (parked, posted on activation), one is non-billable, one
is corrected after approval, one approval's webhook is lost (the sweep brings it), and an expense is
approved. The chapter ends with what each system holds, per state, in hours and money: Productive's
approved billable work and QuickBooks' billable TimeActivities and Purchase lines must agree to
the cent, and every approved billable entry must be in QuickBooks exactly once.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

from infra.local.environment import LocalEnvironment
from infra.time_view import work_lines
from shared import bootstrap
from shared.connectors.productive.amounts import from_minor_units
from shared.domain.models import SystemName
from shared.domain.money import Money
from shared.domain.postings import amount_for

SWEEP_SECONDS = 16 * 60  # the delivery sweep runs every 15 minutes
CURRENCY = "USD"
# (first, last, e-mail, role): the deal sells a Partner and a Senior Consultant (infra/local/demo.py).
CONSULTANTS = (
    ("Grace", "Hopper", "grace.hopper@northwind.example", "Partner"),
    ("Alan", "Turing", "alan.turing@northwind.example", "Senior Consultant"),
)


@dataclass
class TimeChapter:
    """What the chapter did and what each system holds at its end."""

    project_id: str = ""
    sub_customer_id: str = ""
    people: dict[str, str] = field(default_factory=dict)  # role -> Productive person id
    services: dict[str, str] = field(default_factory=dict)  # role -> Productive service id
    entries: dict[str, str] = field(default_factory=dict)  # story -> Productive time entry id
    expense_id: str = ""
    parked_before_activation: bool = False
    swept: int = 0
    states: Counter[str] = field(default_factory=Counter)
    psa_minutes: int = 0
    psa_amount: Decimal = Decimal(0)
    qbo_minutes: int = 0
    qbo_amount: Decimal = Decimal(0)
    copies: dict[str, int] = field(default_factory=dict)  # PSA id -> records in QuickBooks
    listing: list[str] = field(default_factory=list)  # what `close2cash time list` prints
    latency: tuple[int, float] = (0, 0.0)  # postings created, their mean approval -> posted seconds

    @property
    def equal_to_the_cent(self) -> bool:
        return (self.psa_minutes, self.psa_amount) == (self.qbo_minutes, self.qbo_amount)

    @property
    def exactly_once(self) -> bool:
        return bool(self.copies) and all(count == 1 for count in self.copies.values())


def _project_of(env: LocalEnvironment, opportunity_id: str) -> dict[str, Any]:
    stamp = f"salesforce-{opportunity_id}"
    return next(p for p in env.productive.projects() if p["attributes"].get("project_number") == stamp)


def while_pending(env: LocalEnvironment, console: Console, chapter: TimeChapter, opportunity_id: str) -> None:
    """Before delivery operations approves: the consultants join, and one entry is approved already."""
    project = _project_of(env, opportunity_id)
    chapter.project_id = project["id"]
    chapter.services = {s["attributes"]["name"]: s["id"] for s in env.productive.services(project["id"])}
    for first, last, email, role in CONSULTANTS:
        chapter.people[role] = env.productive.add_person(first, last, email=email)
        env.quickbooks.add_employee(f"{first} {last}", email=email)
    early = env.productive.add_time_entry(
        chapter.people["Partner"], chapter.services["Partner"], "2026-11-23", 120, note="Kick-off workshop"
    )
    env.productive.approve_time_entry(early)
    chapter.entries["approved before activation"] = early
    env.settle()
    key = f"productive:time:{early}"
    record = bootstrap.services().postings.works([key]).get(key)
    chapter.parked_before_activation = record is not None and record.state.value == "parked"
    console.print(
        f"  Grace logs 2:00 on the kick-off and it is approved before the engagement is: "
        f"{'parked, waiting for the engagement' if chapter.parked_before_activation else 'NOT parked'}"
    )


def after_activation(env: LocalEnvironment, console: Console, chapter: TimeChapter) -> None:
    """The consultants' week: time, a non-billable hour, a correction, a lost webhook, an expense."""
    partner, senior = chapter.people["Partner"], chapter.people["Senior Consultant"]
    on = chapter.services
    book = env.productive.add_time_entry
    chapter.entries["approved"] = book(
        senior, on["Senior Consultant"], "2026-11-24", 450, note="Current-state interviews"
    )
    chapter.entries["non-billable"] = book(
        senior, on["Senior Consultant"], "2026-11-24", 60, billable_time=0, note="Internal prep"
    )
    chapter.entries["corrected after approval"] = book(
        partner, on["Partner"], "2026-11-25", 240, note="Steering committee"
    )
    chapter.entries["webhook lost"] = book(
        senior, on["Senior Consultant"], "2026-11-25", 55, note="Follow-up call"
    )
    chapter.entries["not yet approved"] = book(
        senior, on["Senior Consultant"], "2026-11-26", 180, note="Draft report"
    )
    env.settle()
    for story in ("approved", "non-billable", "corrected after approval"):
        env.productive.approve_time_entry(chapter.entries[story])
    env.settle()
    console.print("  Alan logs 7:30 + 1:00 non-billable, Grace 4:00; the manager approves them")
    env.productive.edit_time_entry(chapter.entries["corrected after approval"], minutes=315)
    env.settle()
    console.print("  Grace's 4:00 is corrected to 5:15 after approval: QuickBooks is updated, not doubled")
    expenses = env.productive.add_service(chapter.project_id, "Expenses")
    chapter.expense_id = env.productive.add_expense(
        senior, expenses, "2026-11-24", 41237, CURRENCY, name="Train to client"
    )
    env.productive.approve_expense(chapter.expense_id)
    env.settle()
    console.print("  Alan's train ticket (412.37 USD) is approved: a billable expense line in QuickBooks")
    lost = chapter.entries["webhook lost"]
    env.productive.approve_time_entry(lost)
    chapter.swept = env.productive.drop_pending("time_entries", lost)
    env.settle()
    env.pass_time(SWEEP_SECONDS)
    console.print(
        f"  the approval of Alan's 0:55 never reaches the hub ({chapter.swept} webhook lost);"
        " the delivery sweep posts it a quarter of an hour later"
    )


def tally(env: LocalEnvironment, chapter: TimeChapter) -> None:
    """What Productive and QuickBooks hold for the engagement, side by side."""
    services = bootstrap.services()
    chapter.listing = work_lines(
        services.postings.engagement_works(SystemName.PRODUCTIVE, chapter.project_id),
        engagement=chapter.project_id,
    )
    chapter.states = Counter(
        r.state.value for r in services.postings.engagement_works(SystemName.PRODUCTIVE, chapter.project_id)
    )
    booked = services.postings.engagement(SystemName.PRODUCTIVE, chapter.project_id)
    if booked is None:
        return
    chapter.sub_customer_id = booked.accounting.get(SystemName.QUICKBOOKS, "")
    prices = {s["id"]: s for s in env.productive.services(chapter.project_id)}
    for entry in env.productive.time_entries():
        service = prices.get(entry["relationships"]["service"]["data"]["id"])
        attributes = entry["attributes"]
        if service is None or not attributes["approved"] or attributes["billable_time"] <= 0:
            continue
        rate = from_minor_units(int(float(service["attributes"]["price"])), CURRENCY)
        chapter.psa_minutes += attributes["billable_time"]
        chapter.psa_amount += amount_for(rate, attributes["billable_time"]).amount
        chapter.copies[f"time_entries/{entry['id']}"] = 0
    for expense in env.productive.expenses():
        attributes = expense["attributes"]
        if attributes["approval_status"] in (1, 4) and attributes["billable_amount"] > 0:
            chapter.psa_amount += from_minor_units(
                attributes["billable_amount"], attributes["currency"]
            ).amount
            chapter.copies[f"expenses/{expense['id']}"] = 0
    for activity in env.quickbooks.company.rows("TimeActivity"):
        if (activity.get("CustomerRef") or {}).get("value") != chapter.sub_customer_id:
            continue
        minutes = int(activity.get("Hours", 0)) * 60 + int(activity.get("Minutes", 0))
        chapter.qbo_minutes += minutes
        rate = Money(amount=Decimal(str(activity["HourlyRate"])), currency=CURRENCY)
        chapter.qbo_amount += amount_for(rate, minutes).amount
        _count(chapter, str(activity.get("Description", "")))
    for purchase in env.quickbooks.company.rows("Purchase"):
        for line in purchase.get("Line", []):
            detail = line.get("AccountBasedExpenseLineDetail") or {}
            if (detail.get("CustomerRef") or {}).get("value") == chapter.sub_customer_id:
                chapter.qbo_amount += Decimal(str(line["Amount"]))
                _count(chapter, str(purchase.get("PrivateNote", "")))
    totals = services.metrics.totals
    created = int(totals["PostingsWritten[flow=time,operation=create]"])
    if created:
        chapter.latency = (created, float(totals["SyncLatency[flow=time]"]) / created)


def _count(chapter: TimeChapter, text: str) -> None:
    marker = "close2cash productive/"
    if marker in text:
        reference = text.split(marker, 1)[1].rstrip("]").strip()
        chapter.copies[reference] = chapter.copies.get(reference, 0) + 1


def hours(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}"


def print_chapter(console: Console, chapter: TimeChapter) -> None:
    table = Table(
        title="Approved time and expenses → QuickBooks (Productive project " + chapter.project_id + ")"
    )
    for column in ("system", "billable hours", "amount", "what"):
        table.add_column(column)
    table.add_row(
        "Productive",
        hours(chapter.psa_minutes),
        f"{chapter.psa_amount} {CURRENCY}",
        "approved billable time entries x the rate card, + approved billable expenses",
    )
    table.add_row(
        "QuickBooks",
        hours(chapter.qbo_minutes),
        f"{chapter.qbo_amount} {CURRENCY}",
        f"TimeActivities + billable Purchase lines on sub-customer {chapter.sub_customer_id}",
    )
    console.print(table)
    console.print(f"close2cash time list --engagement {chapter.project_id}:")
    for line in chapter.listing:
        console.print(f"  {line}", markup=False, highlight=False)
    twice = [ref for ref, count in chapter.copies.items() if count != 1]
    console.print(
        f"in QuickBooks exactly once: {len(chapter.copies) - len(twice)} of {len(chapter.copies)}"
        + (f" (not once: {', '.join(twice)})" if twice else "")
    )
    created, mean = chapter.latency
    if created:
        console.print(
            f"posting latency (approval → posted in QuickBooks, metric SyncLatency flow=time): mean"
            f" {mean:.1f}s over {created} time entries (the parked one waited for its engagement, the swept"
            " one for the sweep)"
        )
