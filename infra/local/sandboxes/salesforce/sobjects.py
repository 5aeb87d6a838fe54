"""The sObject REST resources: rows by id, rows by external id, Get Updated and Get Deleted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from werkzeug.wrappers import Request, Response

from infra.local.sandboxes.salesforce.errors import SalesforceApiError
from infra.local.sandboxes.salesforce.schema import EXTERNAL_ID_FIELD, OBJECT_FIELDS, READ_ONLY_OBJECTS
from infra.local.sandboxes.salesforce.soql import SoqlEngine
from infra.local.sandboxes.salesforce.wire import json_response, read_record_exact, sf_datetime

# Get Updated looks back 30 days before today, Get Deleted 15; both answer 600,000 ids at most.
# https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_getupdated.htm
# https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api/resources_getdeleted.htm
UPDATED_HORIZON = timedelta(days=30)
DELETED_HORIZON = timedelta(days=15)
MAX_REPLICATION_IDS = 600_000


class SObjectResources(SoqlEngine):
    """sObject Basic Information, Rows, Rows by External ID and Get Deleted."""

    def _dispatch_object(self, endpoint: str, request: Request, args: dict[str, str]) -> Response:
        sobject = args["sobject"]
        if endpoint == "create":
            self._refuse_read_only(sobject, "inserted")
            record_id = self._insert(sobject, read_record_exact(request))
            return json_response({"id": record_id, "success": True, "errors": []}, status=201)
        if endpoint == "external_id":
            return self._upsert_by_external_id(request, sobject, args["id_field"], args["value"])
        record = self._find_in(sobject, args["record_id"])
        if request.method == "GET":
            names = self._object_fields(sobject)
            raw = request.args.get("fields")
            if raw:
                picked = (self._select_field(sobject, name.strip()) for name in raw.split(","))
                names = tuple(dict.fromkeys(["Id", *picked]))
            return json_response(self._render_fields(sobject, record, names))
        if request.method == "PATCH":
            self._refuse_read_only(sobject, "updated")
            self._change(sobject, record["Id"], read_record_exact(request))
            return Response(status=204)
        self._refuse_read_only(sobject, "deleted")
        self._delete(sobject, record)
        return Response(status=204)

    @staticmethod
    def _refuse_read_only(sobject: str, verb: str) -> None:
        if sobject in READ_ONLY_OBJECTS:
            raise SalesforceApiError(
                400, "INVALID_TYPE_FOR_OPERATION", f"entity type cannot be {verb}: {sobject}"
            )

    def _replication_window(
        self, request: Request, sobject: str, horizon: timedelta
    ) -> tuple[datetime, datetime]:
        """The `start`/`end` of sObject Get Updated and Get Deleted: UTC date-times, start first,
        start at most `horizon` before today; the API truncates the seconds of both (12:30:15 is
        12:30:00), so a change in the window's last minute comes in the next window.

        https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_getupdated.htm
        https://developer.salesforce.com/docs/platform/api-rest/guide/resources-getdeleted.html
        """
        if sobject not in OBJECT_FIELDS or sobject in READ_ONLY_OBJECTS:
            raise SalesforceApiError(404, "NOT_FOUND", "The requested resource does not exist")
        window: list[datetime] = []
        for name in ("start", "end"):
            raw = request.args.get(name)
            try:
                when = datetime.fromisoformat(raw or "")
            except ValueError:
                when = None
            if when is None or when.tzinfo is None:
                raise SalesforceApiError(
                    400, "INVALID_QUERY_PARAMETER", f"{name} must be an ISO 8601 date-time"
                )
            window.append(when.astimezone(UTC).replace(second=0, microsecond=0))
        start, end = window
        if end < start:
            raise SalesforceApiError(400, "INVALID_REPLICATION_DATE", "end date precedes start date")
        today = self._clock().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        if start < today - horizon:
            raise SalesforceApiError(
                400, "INVALID_REPLICATION_DATE", f"startDate cannot be more than {horizon.days} days ago"
            )
        return start, end

    def _get_updated(self, request: Request, sobject: str) -> dict[str, Any]:
        """sObject Get Updated: ids of the records created or changed in the window, not deleted."""
        start, end = self._replication_window(request, sobject, UPDATED_HORIZON)
        ids = [
            record["Id"]
            for record in self._objects[sobject].values()
            if not record["IsDeleted"] and start <= record["SystemModstamp"] < end
        ]
        if len(ids) > MAX_REPLICATION_IDS:
            raise SalesforceApiError(
                400, "EXCEEDED_ID_LIMIT", f"record limit reached: more than {MAX_REPLICATION_IDS} ids"
            )
        return {"ids": ids, "latestDateCovered": sf_datetime(end)}

    def _get_deleted(self, request: Request, sobject: str) -> dict[str, Any]:
        """sObject Get Deleted: ids deleted between `start` and `end` (ISO 8601 with an offset)."""
        start, end = self._replication_window(request, sobject, DELETED_HORIZON)
        return {
            "deletedRecords": [
                {"id": record_id, "deletedDate": sf_datetime(when)}
                for kind, record_id, when in self._delete_log
                if kind == sobject and start <= when < end
            ],
            "earliestDateAvailable": sf_datetime(min((w for _, _, w in self._delete_log), default=start)),
            "latestDateCovered": sf_datetime(end),
        }

    def _external_id_field(self, sobject: str, id_field: str) -> str:
        known = self._object_field(sobject, id_field)
        if known != EXTERNAL_ID_FIELD or sobject != "Opportunity":
            raise SalesforceApiError(
                404,
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {id_field}",
            )
        return known

    def _matching(self, sobject: str, known: str, value: str) -> list[dict[str, Any]]:
        return [r for r in self._objects[sobject].values() if not r["IsDeleted"] and r.get(known) == value]

    def _upsert_one(self, sobject: str, field: str, value: str, body: dict[str, Any]) -> tuple[str, bool]:
        """Upsert one record by an external id: (its id, whether it was created)."""
        known = self._external_id_field(sobject, field)
        if any(name.lower() in {"id", known.lower()} for name in body):
            raise SalesforceApiError(
                400, "INVALID_FIELD", f"The Id or {known} field should not be specified in the sobject data."
            )
        matches = self._matching(sobject, known, value)
        if len(matches) > 1:
            raise SalesforceApiError(
                300, "DUPLICATE_EXTERNAL_ID", f"more than one record found for external id field: {value}"
            )
        if matches:
            self._change(sobject, matches[0]["Id"], body)
            return str(matches[0]["Id"]), False
        return self._insert(sobject, {**body, known: value}), True

    def _upsert_by_external_id(self, request: Request, sobject: str, id_field: str, value: str) -> Response:
        """sObject Rows by External ID: PATCH creates (201) or updates (200/204) by the field's value;
        updateOnly=true never creates; several matches answer 300 with their URLs.

        https://developer.salesforce.com/docs/platform/api-rest/guide/resources-sobject-upsert-patch.md
        """
        known = self._external_id_field(sobject, id_field)
        matches = self._matching(sobject, known, value)
        if request.method == "GET":
            if not matches:
                raise SalesforceApiError(404, "NOT_FOUND", "The requested resource does not exist")
            return json_response(self._render_fields(sobject, matches[0], self._object_fields(sobject)))
        body = read_record_exact(request)
        if len(matches) > 1:
            urls = [f"/services/data/v{self._version}/sobjects/{sobject}/{r['Id']}" for r in matches]
            return json_response(urls, status=300)
        if not matches and request.args.get("updateOnly", "").lower() == "true":
            raise SalesforceApiError(404, "NOT_FOUND", "The requested resource does not exist")
        record_id, created = self._upsert_one(sobject, known, value, body)
        answer = {"id": record_id, "success": True, "errors": [], "created": created}
        return json_response(answer, status=201 if created else 200)
