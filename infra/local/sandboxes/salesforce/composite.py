"""sObject Collections and Composite: many records or many requests in one API call.

Both run in one transaction when allOrNone is true: a failure rolls back everything the call did
(outbound notifications included), as the store's snapshot and restore make possible.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from infra.local.sandboxes.salesforce.errors import SalesforceApiError
from infra.local.sandboxes.salesforce.records import RecordStore
from infra.local.sandboxes.salesforce.schema import OBJECT_FIELDS, READ_ONLY_OBJECTS
from infra.local.sandboxes.salesforce.wire import dumps

# At most 200 records per collection; more is refused whole.
# https://developer.salesforce.com/docs/atlas.en-us.264.0.api_rest.meta/api_rest/resources_composite_sobjects_collections_create.htm
# (the refusal as orgs answer it) https://github.com/django-salesforce/django-salesforce/issues/328
MAX_COLLECTION = 200
# At most 25 subrequests per composite call; the call itself answers 200 with one LIMIT_EXCEEDED entry.
# https://developer.salesforce.com/docs/atlas.en-us.262.0.api_rest.meta/api_rest/resources_composite_composite_post.htm
# (the answer as orgs give it) https://github.com/guardian/support-service-lambdas/pull/766
MAX_SUBREQUESTS = 25
# Failed records of an all-or-none call name their own error; the others are rolled back with this.
# https://developer.salesforce.com/docs/atlas.en-us.260.0.api_rest.meta/api/resources_composite_allornone.htm
_ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": (
        "Record rolled back because not all records were valid and the request was using AllOrNone header"
    ),
    "fields": [],
}
_HALTED = "The transaction was rolled back since another operation in the same transaction failed."
_REFERENCE = re.compile(r"@\{([A-Za-z]\w*)((?:\.\w+|\[\d+\])+)\}")


def _save_error(error: SalesforceApiError) -> dict[str, Any]:
    """A per-record error as collections answer it (statusCode, not errorCode)."""
    return {"statusCode": error.code, "message": error.message, "fields": error.fields or []}


def _entry(body: Any, status: int, reference: Any) -> dict[str, Any]:
    """One subrequest's answer in compositeResponse."""
    return {"body": body, "httpHeaders": {}, "httpStatusCode": status, "referenceId": reference}


class CompositeResources(RecordStore):
    """POST/PATCH /composite/sobjects, PATCH /composite/sobjects/X/field, POST /composite."""

    def _route(self, request: Request) -> Response:
        """Answer one REST request as the org would (the app implements it)."""
        raise NotImplementedError

    def _upsert_one(self, sobject: str, field: str, value: str, body: dict[str, Any]) -> tuple[str, bool]:
        raise NotImplementedError

    # --- sObject Collections -------------------------------------------------------------------

    @staticmethod
    def _collection_body(request: Request) -> tuple[bool, list[Any]]:
        try:
            body = json.loads(request.get_data(as_text=True) or "null", parse_float=Decimal)
        except json.JSONDecodeError as exc:
            raise SalesforceApiError(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc.msg}") from exc
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise SalesforceApiError(400, "JSON_PARSER_ERROR", "The request needs a records list")
        records: list[Any] = body["records"]
        if len(records) > MAX_COLLECTION:
            raise SalesforceApiError(
                400,
                "EXCEEDED_ID_LIMIT",
                f"record limit reached. cannot submit more than {MAX_COLLECTION} records into this call",
            )
        return body.get("allOrNone") is True, records

    def _collection(self, request: Request, *, upsert: tuple[str, str] | None = None) -> list[dict[str, Any]]:
        """Create (POST), update (PATCH, each record with its id) or upsert by an external id.

        https://developer.salesforce.com/docs/atlas.en-us.264.0.api_rest.meta/api_rest/resources_composite_sobjects_collections_create.htm
        """
        all_or_none, records = self._collection_body(request)
        snapshot = self._snapshot() if all_or_none else None
        results: list[dict[str, Any]] = []
        for record in records:
            try:
                results.append(self._save_one(request.method, record, upsert))
            except SalesforceApiError as exc:
                results.append({"id": None, "success": False, "errors": [_save_error(exc)]})
        if snapshot is not None and not all(result["success"] for result in results):
            self._restore(snapshot)
            results = [
                result if not result["success"] else {"id": None, "success": False, "errors": [_ROLLED_BACK]}
                for result in results
            ]
        return results

    def _save_one(self, method: str, record: Any, upsert: tuple[str, str] | None) -> dict[str, Any]:
        if not isinstance(record, dict):
            raise SalesforceApiError(400, "JSON_PARSER_ERROR", "Each record must be a JSON object")
        fields = dict(record)
        attributes = fields.pop("attributes", None)
        sobject = attributes.get("type") if isinstance(attributes, dict) else None
        if upsert is not None:
            sobject = sobject or upsert[0]
            if sobject != upsert[0]:
                raise SalesforceApiError(400, "INVALID_TYPE", f"The record is not a {upsert[0]}")
        if not isinstance(sobject, str) or sobject not in OBJECT_FIELDS:
            raise SalesforceApiError(
                400, "INVALID_TYPE", "Each record needs attributes.type naming an sObject"
            )
        if sobject in READ_ONLY_OBJECTS:
            raise SalesforceApiError(
                400, "INVALID_TYPE_FOR_OPERATION", f"entity type cannot be saved: {sobject}"
            )
        record_id = fields.pop("id", None) or fields.pop("Id", None)
        if upsert is not None:
            external = fields.pop(upsert[1], None)
            if external is None:
                raise SalesforceApiError(400, "MISSING_ARGUMENT", f"{upsert[1]} not specified", [upsert[1]])
            saved_id, created = self._upsert_one(sobject, upsert[1], str(external), fields)
            return {"id": saved_id, "success": True, "errors": [], "created": created}
        if method == "POST":
            if record_id is not None:
                raise SalesforceApiError(400, "INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
            return {"id": self._insert(sobject, fields), "success": True, "errors": []}
        if not isinstance(record_id, str):
            raise SalesforceApiError(400, "MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
        self._change(sobject, self._find_in(sobject, record_id)["Id"], fields)
        return {"id": self._find_in(sobject, record_id)["Id"], "success": True, "errors": []}

    # --- Composite -----------------------------------------------------------------------------

    def _composite(self, request: Request) -> dict[str, Any]:
        """Subrequests in order; @{ref.field} in a url or body names an earlier subrequest's answer.

        https://developer.salesforce.com/docs/atlas.en-us.262.0.api_rest.meta/api_rest/resources_composite_composite_post.htm
        """
        try:
            body = json.loads(request.get_data(as_text=True) or "null", parse_float=Decimal)
        except json.JSONDecodeError as exc:
            raise SalesforceApiError(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc.msg}") from exc
        subrequests = body.get("compositeRequest") if isinstance(body, dict) else None
        if not isinstance(subrequests, list) or not subrequests:
            raise SalesforceApiError(
                400, "JSON_PARSER_ERROR", "compositeRequest must be a list of subrequests"
            )
        if len(subrequests) > MAX_SUBREQUESTS:
            limit: dict[str, str] = {
                "errorCode": "LIMIT_EXCEEDED",
                "message": "The request can’t contain more than 25 operations.",  # noqa: RUF001 - as sent
            }
            return {"compositeResponse": [_entry([limit], 400, None)]}
        all_or_none = body.get("allOrNone") is True
        snapshot = self._snapshot() if all_or_none else None
        answers: dict[str, Any] = {}
        failed: set[str] = set()
        responses: list[dict[str, Any]] = []
        for sub in subrequests:
            entry = self._subrequest(request, sub, answers, failed)
            responses.append(entry)
            if entry["httpStatusCode"] >= 400:
                failed.add(str(entry["referenceId"]))
                if all_or_none:
                    break
        if snapshot is not None and failed:
            self._restore(snapshot)
            halted_body = [{"errorCode": "PROCESSING_HALTED", "message": _HALTED}]
            done = len(responses)
            for index, sub in enumerate(subrequests):
                if index < done and responses[index]["httpStatusCode"] >= 400:
                    continue
                reference = sub.get("referenceId") if isinstance(sub, dict) else None
                halted = _entry(halted_body, 400, reference)
                if index < done:
                    responses[index] = halted
                else:
                    responses.append(halted)
        return {"compositeResponse": responses}

    def _subrequest(
        self, request: Request, sub: Any, answers: dict[str, Any], failed: set[str]
    ) -> dict[str, Any]:
        reference = sub.get("referenceId") if isinstance(sub, dict) else None
        entry = _entry(None, 200, reference)
        try:
            if (
                not isinstance(sub, dict)
                or not isinstance(reference, str)
                or not re.fullmatch(r"[A-Za-z]\w{0,39}", reference)
            ):
                raise SalesforceApiError(
                    400, "INVALID_INPUT", "Each subrequest needs a referenceId (a letter first)"
                )
            if reference in answers or reference in failed:
                raise SalesforceApiError(
                    400, "DUPLICATE_VALUE", f"Duplicate referenceId provided: {reference}"
                )
            method, url = sub.get("method"), sub.get("url")
            if method not in {"GET", "POST", "PATCH", "PUT", "DELETE"} or not isinstance(url, str):
                raise SalesforceApiError(400, "INVALID_INPUT", "Each subrequest needs a method and a url")
            if not url.startswith("/services/data/v") or "/composite" in url:
                raise SalesforceApiError(
                    400, "INVALID_INPUT", f"The url is not a resource composite serves: {url}"
                )
            url = str(self._substitute(url, answers, failed))
            payload = self._substitute(sub.get("body"), answers, failed)
        except SalesforceApiError as exc:
            entry.update(body=exc.body(), httpStatusCode=exc.status)
            return entry
        path, _, query = url.partition("?")
        builder = EnvironBuilder(
            path=path,
            query_string=query,
            method=method,
            data=dumps(payload) if payload is not None else None,
            content_type="application/json",
            headers=[(str(k), str(v)) for k, v in (sub.get("httpHeaders") or {}).items()],
        )
        response = self._route(builder.get_request())
        text = response.get_data(as_text=True)
        answer = json.loads(text, parse_float=Decimal) if text else None
        entry.update(body=answer, httpStatusCode=response.status_code)
        if "Location" in response.headers:
            entry["httpHeaders"] = {"Location": response.headers["Location"]}
        if response.status_code < 400:
            answers[reference] = answer
        return entry

    def _substitute(self, value: Any, answers: dict[str, Any], failed: set[str]) -> Any:
        if isinstance(value, dict):
            return {key: self._substitute(item, answers, failed) for key, item in value.items()}
        if isinstance(value, list):
            return [self._substitute(item, answers, failed) for item in value]
        if not isinstance(value, str):
            return value

        def resolve(found: re.Match[str]) -> str:
            reference, path = found.group(1), found.group(2)
            current: Any = answers.get(reference)
            for step in re.findall(r"\.(\w+)|\[(\d+)\]", path):
                name, index = step
                if isinstance(current, dict) and name:
                    current = current.get(name)
                elif isinstance(current, list) and index and int(index) < len(current):
                    current = current[int(index)]
                else:
                    current = None
            if current is None:
                raise SalesforceApiError(
                    400,
                    "PROCESSING_HALTED",
                    f"Invalid reference specified. No value for {reference}{path} found in {reference}. "
                    f"Provided referenceId ('{reference}') refers to a subrequest that failed or has no "
                    "such field.",
                )
            return str(current)

        return _REFERENCE.sub(resolve, value)
