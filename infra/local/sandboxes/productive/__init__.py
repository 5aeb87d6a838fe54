"""A local twin of Productive.io (companies, projects, budgets, services, time, expenses, invoices, tasks,
salaries and holidays), signed webhooks.

It speaks the protocol documented at https://developer.productive.io/. Tests mount it with
`httpx.WSGITransport`; the demo serves it on a loopback port.

| area (file) | serves | refuses, with Productive's documented answer |
| --- | --- | --- |
| auth (app.py) | `X-Auth-Token` + `X-Organization-Id` | missing/bad token 401, other organization 403 |
| content (app.py) | `application/vnd.api+json` writes | another Content-Type 415 |
| rate (app.py, kit) | 100 requests / 10 s and 4,000 / 30 min | beyond: 429 |
| companies | list, read, create, update, archive, delete | blank name 422, taken company_code 422, |
|           | (company events 29, 30, 31) | unknown attribute 400 "Param not allowed" |
| projects, deals, | copy from template, archive/restore, budgets | missing required attributes or |
| services, types | (deals `budget: true`), close/open, services | relationships 422; unknown attribute 400 |
|  (engagements.py) | | |
| people, | people: list, read (added with `add_person`); time | missing person, service, date or |
| time entries | entries: list, read, create, edit, delete, approve/ | time 422 "can't be blank"; unknown |
| (time_entries.py) | unapprove, reject/unreject (events 7, 8, 9; an | attribute 400; unknown or |
|                   | approval is an "updated"); `recognized_time` 0 | non-numeric page / filter 400 |
|                   | until approved; filters person/service/project/ | |
|                   | task/approver_id, date, after, before, status, | |
|                   | invoiced, updated_at[gt/gt_eq/lt/lt_eq]; sort | |
|                   | date, updated_at | |
| expenses | list, read, create, edit, delete, approve/unapprove | missing name, date, amount, currency, |
| (expenses.py) | (`approval_status` 1/2; 3 via `reject_expense`), | person or service 422; unknown |
|               | events 21, 22, 23; filters person/service/project, | attribute 400 |
|               | approval_status, date_after, date_before | |
| invoicing | invoices (draft, `finalize`; type 1, or credit | missing company or currency 422; |
| (invoicing.py) | note 2 with `parent_invoice`), line items (cents | taken number 422; lines or a second |
|   | x quantity, tax from the tax rate), attributions, | finalize on a finalized invoice 422; |
|   | payments (`external_id`); computes amount, paid, | empty invoice's finalize 422; payment |
|   | unpaid, credited, `payment_status` 1/2/3; finalize | on a draft 422; cents not whole 422; |
|   | marks billed time / expenses invoiced; events | unknown attribute 400 |
|   | 2/14/15, 32/33/34; tax rates via `add_tax_rate` | |
| tasks (tasks.py) | tasks (milestone `type_id` 2) on a task list, | missing title, project or task |
|   | `status` filter; `add_task_list`, `complete_milestone`; | list 422 |
|   | a copy carries its template's task lists | |
| salaries, holidays | salaries (cost rates: `cost` cents, `salary_type_id`, | overlapping cost rates of one |
| (capacity.py) | `working_hours` x14), holiday calendars, holidays; | person 422 (control API); `sort` |
|               | filters person_id/after/before, holiday_calendar_id; | on salaries 400; writes 405 |
|               | salaries newest id first; `add_salary`, `add_holiday` | |
| filters (filters.py) | `filter[name][eq, not_eq, contains, not_contain]` | 400 "Unsupported |
|                      | as each endpoint documents them | Filter" (even when nothing would match) |
| sort (listing.py) | `sort=a,-b` on the endpoint's sort params | unknown param 400 "Unsupported Sort" |
| include (listing.py) | `include=a,b.c`: relationship `data`, `included`; | 400 "Unsupported Include" |
|                      | without it relationships say `meta.included: false` | |
| pages (listing.py) | `page[number]`, `page[size]` (30, max 200), `meta` | bad page, size > 200: 400 |
| webhooks (app.py, kit) | `Productive-Signature: t=..., s=...` signed, kept | — |
|                        | until 2xx, one event per POST | |
| time (app.py) | one clock (`clock=`; the runtime's under `LocalEnvironment`): | — |
|               | timestamps, signature `t`, rate windows | |
"""

from infra.local.sandboxes.productive.app import (
    ENGAGEMENT_RESOURCES,
    EVENT_COMPANY_ARCHIVED,
    EVENT_COMPANY_CREATED,
    EVENT_COMPANY_UPDATED,
    RATE_LIMITS,
    ProductiveSandbox,
)
from infra.local.sandboxes.productive.engagements import EVENT_PROJECT_CREATED, EVENT_PROJECT_UPDATED
from infra.local.sandboxes.productive.errors import JSON_API
from infra.local.sandboxes.productive.expenses import EVENT_EXPENSE_CREATED, EVENT_EXPENSE_UPDATED
from infra.local.sandboxes.productive.invoicing import (
    EVENT_INVOICE_CREATED,
    EVENT_INVOICE_DELETED,
    EVENT_INVOICE_UPDATED,
    EVENT_PAYMENT_CREATED,
    EVENT_PAYMENT_DELETED,
    EVENT_PAYMENT_UPDATED,
)
from infra.local.sandboxes.productive.listing import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from infra.local.sandboxes.productive.time_entries import (
    EVENT_TIME_ENTRY_CREATED,
    EVENT_TIME_ENTRY_DELETED,
    EVENT_TIME_ENTRY_UPDATED,
)

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "ENGAGEMENT_RESOURCES",
    "EVENT_COMPANY_ARCHIVED",
    "EVENT_COMPANY_CREATED",
    "EVENT_COMPANY_UPDATED",
    "EVENT_EXPENSE_CREATED",
    "EVENT_EXPENSE_UPDATED",
    "EVENT_INVOICE_CREATED",
    "EVENT_INVOICE_DELETED",
    "EVENT_INVOICE_UPDATED",
    "EVENT_PAYMENT_CREATED",
    "EVENT_PAYMENT_DELETED",
    "EVENT_PAYMENT_UPDATED",
    "EVENT_PROJECT_CREATED",
    "EVENT_PROJECT_UPDATED",
    "EVENT_TIME_ENTRY_CREATED",
    "EVENT_TIME_ENTRY_DELETED",
    "EVENT_TIME_ENTRY_UPDATED",
    "JSON_API",
    "MAX_PAGE_SIZE",
    "RATE_LIMITS",
    "ProductiveSandbox",
]
