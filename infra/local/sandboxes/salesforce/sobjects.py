"""The sObject REST resources: rows by id, rows by external id, and Get Deleted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from werkzeug.wrappers import Request, Response

from infra.local.sandboxes.salesforce.errors import SalesforceApiError
from infra.local.sandboxes.salesforce.schema import EXTERNAL_ID_FIELD, OBJECT_FIELDS
from infra.local.sandboxes.salesforce.soql import SoqlEngine
from infra.local.sandboxes.salesforce.wire import json_response, read_record, read_record_exact, sf_datetime


class SObjectResources(SoqlEngine):
    """sObject Basic Information, Rows, Rows by External ID and Get Deleted."""

    def _fields_param(self, request: Request) -> tuple[str, ...] | None:
        raw = request.args.get("fields")
        if not raw:
            return None
        names = []
        for name in (part.strip() for part in raw.split(",")):
            known = self._object_field("Account", name)
            if known is None:
                raise SalesforceApiError(
                    400, "INVALID_FIELD", f"No such column '{name}' on entity 'Account'.", [name]
                )
            names.append(known)
        return tuple(dict.fromkeys(["Id", *names]))

    def _dispatch_object(self, endpoint: str, request: Request, args: dict[str, str]) -> Response:
        sobject = args["sobject"]
        # Account's fields are all text: its bodies are read as plain JSON.
        read_body = read_record if sobject == "Account" else read_record_exact
        if endpoint == "create":
            record_id = self._insert(sobject, read_body(request))
            return json_response({"id": record_id, "success": True, "errors": []}, status=201)
        if endpoint == "external_id":
            return self._upsert_by_external_id(request, sobject, args["id_field"], args["value"])
        record = self._find_in(sobject, args["record_id"])
        if request.method == "GET":
            names = self._object_fields(sobject)
            raw = request.args.get("fields")
            if sobject == "Account":
                names = self._fields_param(request) or names
            elif raw:
                names = tuple(
                    dict.fromkeys(["Id", *(self._select_field(sobject, n.strip()) for n in raw.split(","))])
                )
            return json_response(self._render_fields(sobject, record, names))
        if request.method == "PATCH":
            self._change(sobject, record["Id"], read_body(request))
            return Response(status=204)
        self._delete(sobject, record)
        return Response(status=204)

    def _get_deleted(self, request: Request, sobject: str) -> dict[str, Any]:
        """sObject Get Deleted: ids deleted between `start` and `end` (ISO 8601 with an offset)."""
        if sobject not in OBJECT_FIELDS:
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
            window.append(when.astimezone(UTC))
        start, end = window
        if end < start:
            raise SalesforceApiError(400, "INVALID_REPLICATION_DATE", "end date precedes start date")
        return {
            "deletedRecords": [
                {"id": record_id, "deletedDate": sf_datetime(when)}
                # Whole seconds: a delete in the same second as `end` is in (the API takes no
                # fractions), and may come again in the next window, which starts at `end`.
                for kind, record_id, when in self._delete_log
                if kind == sobject and start <= when < end + timedelta(seconds=1)
            ],
            "earliestDateAvailable": sf_datetime(min((w for _, _, w in self._delete_log), default=start)),
            "latestDateCovered": sf_datetime(end),
        }

    def _upsert_by_external_id(self, request: Request, sobject: str, id_field: str, value: str) -> Response:
        """sObject Rows by External ID: PATCH creates (201) or updates (200/204) by the field's value;
        updateOnly=true never creates; several matches answer 300 with their URLs.

        https://developer.salesforce.com/docs/platform/api-rest/guide/resources-sobject-upsert-patch.md
        """
        known = self._object_field(sobject, id_field)
        if known != EXTERNAL_ID_FIELD or sobject != "Opportunity":
            raise SalesforceApiError(
                404,
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {id_field}",
            )
        matches = [r for r in self._objects[sobject].values() if not r["IsDeleted"] and r.get(known) == value]
        if request.method == "GET":
            if not matches:
                raise SalesforceApiError(404, "NOT_FOUND", "The requested resource does not exist")
            return json_response(self._render_fields(sobject, matches[0], self._object_fields(sobject)))
        body = read_record_exact(request)
        if any(name.lower() in {"id", known.lower()} for name in body):
            raise SalesforceApiError(
                400, "INVALID_FIELD", f"The Id or {known} field should not be specified in the sobject data."
            )
        if len(matches) > 1:
            urls = [f"/services/data/v{self.api_version}/sobjects/{sobject}/{r['Id']}" for r in matches]
            return json_response(urls, status=300)
        if matches:
            self._change(sobject, matches[0]["Id"], body)
            return json_response(
                {"id": matches[0]["Id"], "success": True, "errors": [], "created": False}, status=200
            )
        if request.args.get("updateOnly", "").lower() == "true":
            raise SalesforceApiError(404, "NOT_FOUND", "The requested resource does not exist")
        record_id = self._insert(sobject, {**body, known: value})
        return json_response({"id": record_id, "success": True, "errors": [], "created": True}, status=201)
