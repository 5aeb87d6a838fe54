"""People and time entries: the time entry endpoints, their approval actions and the webhooks they fire.

https://developer.productive.io/time_entries.html and
https://developer.productive.io/reference/resources/time-entries: a time entry is a person's `time`
(minutes) on a `date` against a service (optionally a task). `billable_time` is kept as entered, but
"time is recognised and billable only after approval"
(https://help.productive.io/en/articles/2179594-approving-time-overview): `recognized_time` is 0
until a manager approves. Approval is `PATCH /time_entries/{id}/approve` (reference action
time_entries-approve-approve), revoked by `/unapprove`; `/reject` and `/unreject` likewise. Webhook
events are 7 new, 8 updated, 9 deleted (https://developer.productive.io/reference/resources/webhooks):
there is no "approved" event, so an approval arrives as an ordinary "updated".
"""

from __future__ import annotations

import copy
from typing import Any

from werkzeug.wrappers import Request, Response

from infra.local.sandboxes.productive.engagements import EngagementWrites
from infra.local.sandboxes.productive.errors import ApiError, json_response

EVENT_TIME_ENTRY_CREATED, EVENT_TIME_ENTRY_UPDATED, EVENT_TIME_ENTRY_DELETED = 7, 8, 9
TIME_RESOURCES = ("people", "time_entries")
# Attributes a client writes (https://developer.productive.io/time_entries.html "Supported attributes");
# approval fields are set by the actions only.
WRITABLE = frozenset({"date", "time", "billable_time", "note"})
REQUIRED_ATTRIBUTES = ("date", "time")
ACTIONS = frozenset({"approve", "unapprove", "reject", "unreject"})


class TimeEntries(EngagementWrites):
    """People and time entries, mixed into the sandbox that owns the stores, the clock and the webhooks."""

    # --- control API ------------------------------------------------------------------------

    def person_ids(self) -> list[str]:
        """Every person's id, in id order."""
        with self._lock:
            return sorted(self._store["people"], key=int)

    def add_person(self, first_name: str, last_name: str, *, email: str | None = None) -> str:
        """A person joins the organization (set up by hand in the app); returns their id."""
        with self._lock:
            person_id = str(next(self._ids))
            self._store["people"][person_id] = {
                "id": person_id,
                "type": "people",
                "attributes": {
                    "first_name": first_name,
                    "last_name": last_name,
                    "email": email,
                    "created_at": self._stamp(),
                },
                "relationships": {},
            }
            return person_id

    def add_time_entry(
        self,
        person_id: str,
        service_id: str,
        date: str,
        minutes: int,
        *,
        note: str | None = None,
        billable_time: int | None = None,
        task_id: str | None = None,
    ) -> str:
        """A person tracks time in the app (webhook 7 included); returns the entry's id."""
        data = {
            "type": "time_entries",
            "attributes": {
                "date": date,
                "time": minutes,
                "note": note,
                **({} if billable_time is None else {"billable_time": billable_time}),
            },
            "relationships": {
                "person": _to("people", person_id),
                "service": _to("services", service_id),
                **({"task": _to("tasks", task_id)} if task_id else {}),
            },
        }
        with self._lock:
            try:
                return str(self._insert_entry(data)["id"])
            except ApiError as error:
                raise ValueError(str(error)) from error

    def time_entries(self) -> list[dict[str, Any]]:
        """Every stored time entry (copies), in id order."""
        with self._lock:
            found = self._store["time_entries"]
            return [copy.deepcopy(found[k]) for k in sorted(found, key=int)]

    def approve_time_entry(self, entry_id: str, *, approver_id: str | None = None) -> None:
        """A manager approves the entry in the app (webhook 8 included); KeyError when absent."""
        with self._lock:
            self._require_entry(entry_id, KeyError)
            self._decide(entry_id, "approve", approver_id=approver_id)

    def edit_time_entry(self, entry_id: str, *, minutes: int, billable_time: int | None = None) -> None:
        """A person corrects the time in the app (webhook 8); an approved entry stays approved."""
        with self._lock:
            self._require_entry(entry_id, KeyError)
            attributes = self._store["time_entries"][entry_id]["attributes"]
            attributes.update(time=minutes, billable_time=minutes if billable_time is None else billable_time)
            if attributes["approved"]:
                attributes["recognized_time"] = minutes
            attributes["updated_at"] = self._stamp()
            self._enqueue_resource(EVENT_TIME_ENTRY_UPDATED, self._store["time_entries"][entry_id])

    def reject_time_entry(self, entry_id: str, reason: str | None = None) -> None:
        """A manager rejects the entry in the app (webhook 8 included); KeyError when absent."""
        with self._lock:
            self._require_entry(entry_id, KeyError)
            self._decide(entry_id, "reject", reason=reason)

    def _require_entry(self, entry_id: str, error: type[Exception]) -> None:
        if entry_id not in self._store["time_entries"]:
            raise error(f"time entry {entry_id} is not in the sandbox")

    # --- routes -----------------------------------------------------------------------------

    def _time_route(self, kind: str, tail: list[str], method: str, request: Request) -> Response:
        if not tail and method == "GET":
            return self._list_resources(kind, request)
        if len(tail) == 1 and method == "GET":
            return self._single(kind, tail[0], request)
        if kind == "time_entries":
            if not tail and method == "POST":
                entry = self._insert_entry(self._data(request, "time_entries", None))
                return json_response({"data": copy.deepcopy(entry)}, 201)
            if len(tail) == 1 and method == "PATCH":
                return self._edit_entry(tail[0], request)
            if len(tail) == 1 and method == "DELETE":
                entry = self._get("time_entries", tail[0])
                del self._store["time_entries"][tail[0]]
                self._enqueue_resource(EVENT_TIME_ENTRY_DELETED, entry)
                return Response(status=204)
            if len(tail) == 2 and method == "PATCH" and tail[1] in ACTIONS:
                self._get("time_entries", tail[0])
                body = self._data(request, "time_entries", None) if request.get_data().strip() else {}
                reason = (body.get("attributes") or {}).get("rejected_reason")
                return self._decide(tail[0], tail[1], approver_id=self.api_person_id, reason=reason)
        raise ApiError(405, "Method Not Allowed", f"{method} {request.path} is not supported")

    # --- writes -----------------------------------------------------------------------------

    def _insert_entry(self, data: dict[str, Any]) -> dict[str, Any]:
        attributes = copy.deepcopy(data.get("attributes") or {})
        refuse_unwritable(attributes)
        for name in REQUIRED_ATTRIBUTES:
            if attributes.get(name) in (None, ""):
                raise ApiError(422, "Invalid Attribute", f"{name} can't be blank", f"/data/attributes/{name}")
        _minutes(attributes)
        person = self._relationship(data, "person", "people", required=True)
        service = self._relationship(data, "service", "services", required=True)
        task = ((data.get("relationships") or {}).get("task") or {}).get("data")
        entry_id = str(next(self._ids))
        stamp = self._stamp()
        entry = {
            "id": entry_id,
            "type": "time_entries",
            "attributes": {
                "date": attributes["date"],
                "time": attributes["time"],
                "billable_time": attributes.get("billable_time", attributes["time"]),
                "recognized_time": 0,
                "note": attributes.get("note"),
                "approved": False,
                "approved_at": None,
                "rejected": False,
                "rejected_at": None,
                "rejected_reason": None,
                "submitted": False,
                "invoiced": False,
                # https://developer.productive.io/time_entries.html: 1 not invoiced, 2 drafted, 3 finalized
                "invoicing_status": 1,
                "created_at": stamp,
                "updated_at": stamp,
            },
            "relationships": {
                "person": _to("people", person),
                "service": _to("services", service),
                # The twin serves no tasks: a task is kept as the id the client gave.
                "task": _to("tasks", str(task["id"])) if isinstance(task, dict) else {"data": None},
                "approver": {"data": None},
                "invoice": {"data": None},
            },
        }
        self._store["time_entries"][entry_id] = entry
        self._enqueue_resource(EVENT_TIME_ENTRY_CREATED, entry)
        return entry

    def _edit_entry(self, entry_id: str, request: Request) -> Response:
        self._get("time_entries", entry_id)
        stored = self._store["time_entries"][entry_id]
        data = self._data(request, "time_entries", entry_id)
        attributes = copy.deepcopy(data.get("attributes") or {})
        refuse_unwritable(attributes)
        for name in REQUIRED_ATTRIBUTES:
            if name in attributes and attributes[name] in (None, ""):
                raise ApiError(422, "Invalid Attribute", f"{name} can't be blank", f"/data/attributes/{name}")
        _minutes(attributes)
        relationships = data.get("relationships") or {}
        for name, kind in (("person", "people"), ("service", "services")):
            if name in relationships:
                related = self._relationship(data, name, kind, required=True)
                stored["relationships"][name] = _to(kind, related)
        stored["attributes"].update(attributes)
        if stored["attributes"]["approved"]:
            stored["attributes"]["recognized_time"] = stored["attributes"]["time"]
        stored["attributes"]["updated_at"] = self._stamp()
        self._enqueue_resource(EVENT_TIME_ENTRY_UPDATED, stored)
        return json_response({"data": copy.deepcopy(stored)})

    def _decide(
        self, entry_id: str, action: str, *, approver_id: str | None = None, reason: str | None = None
    ) -> Response:
        """Approve, unapprove, reject or unreject; each is an "updated" event."""
        entry = self._store["time_entries"][entry_id]
        attributes = entry["attributes"]
        stamp = self._stamp()
        if action == "approve":
            attributes.update(approved=True, approved_at=stamp, recognized_time=attributes["time"])
            attributes.update(rejected=False, rejected_at=None, rejected_reason=None)
            approver = {"type": "people", "id": approver_id} if approver_id else None
            entry["relationships"]["approver"] = {"data": approver}
        if action in {"unapprove", "reject"}:
            attributes.update(approved=False, approved_at=None, recognized_time=0)
            entry["relationships"]["approver"] = {"data": None}
        if action == "reject":
            attributes.update(rejected=True, rejected_at=stamp, rejected_reason=reason)
        if action == "unreject":
            attributes.update(rejected=False, rejected_at=None, rejected_reason=None)
        attributes["updated_at"] = stamp
        self._enqueue_resource(EVENT_TIME_ENTRY_UPDATED, entry)
        return json_response({"data": copy.deepcopy(entry)})


def _to(kind: str, resource_id: str | None) -> dict[str, Any]:
    """A relationship pointing at one resource."""
    return {"data": {"type": kind, "id": resource_id}}


def refuse_unwritable(attributes: dict[str, Any], allowed: frozenset[str] = WRITABLE) -> None:
    """400 "Param not allowed" for the first attribute a client may not write."""
    for key in attributes:
        if key not in allowed:
            raise ApiError(400, "Param not allowed", f"{key} is not allowed", f"/data/attributes/{key}")


def _minutes(attributes: dict[str, Any]) -> None:
    """`time` and `billable_time` are whole minutes."""
    for name in ("time", "billable_time"):
        value = attributes.get(name)
        if name in attributes and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise ApiError(
                422, "Invalid Attribute", f"{name} must be whole minutes", f"/data/attributes/{name}"
            )
