"""The record store: field checks as the org makes them, creates, edits, deletes and rendering."""

from __future__ import annotations

import copy
import re
import threading
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from infra.local.sandboxes.salesforce.errors import SalesforceApiError
from infra.local.sandboxes.salesforce.ids import IdFactory, to_18
from infra.local.sandboxes.salesforce.schema import (
    OBJECT_FIELDS,
    PARENT_RELATIONSHIPS,
    PREFIXES,
    STAGE_PROBABILITIES,
    STAGES,
    SYSTEM_FIELDS,
    SYSTEM_SPECS,
    UNOWNED_OBJECTS,
    FieldSpec,
)
from infra.local.sandboxes.salesforce.wire import SCALE, Clock, json_value, to_number


class RecordStore:
    """The org's records, and the rules every create and edit goes through."""

    _objects: dict[str, dict[str, dict[str, Any]]]
    _ids: IdFactory
    _clock: Clock
    _lock: threading.RLock
    _user_id: str
    _stage_seen: dict[str, str]
    _delete_log: list[tuple[str, str, datetime]]
    api_version: str
    multi_currency: bool
    standard_pricebook_id: str
    # The API version of the request being answered: record URLs carry it.
    _version: str

    def _snapshot(self) -> dict[str, Any]:
        """The state a rolled-back transaction returns to (mixins with their own state extend it)."""
        return {
            "objects": copy.deepcopy(self._objects),
            "stage_seen": dict(self._stage_seen),
            "delete_log": list(self._delete_log),
        }

    def _restore(self, snapshot: dict[str, Any]) -> None:
        """Roll back to `snapshot`: every change since it was taken is undone."""
        self._objects = snapshot["objects"]
        self._stage_seen = snapshot["stage_seen"]
        self._delete_log = snapshot["delete_log"]

    def _queue_notification(self, record_id: str, now: datetime) -> None:
        """Queue an outbound notification about `record_id` (the outbound rules implement it)."""
        raise NotImplementedError

    # --- sObjects ------------------------------------------------------------------------------

    def _system_fields(self, record_id: str, now: datetime) -> dict[str, Any]:
        """The audit fields Salesforce sets on every record it creates."""
        return {
            "Id": record_id,
            "IsDeleted": False,
            "OwnerId": self._user_id,
            "CreatedDate": now,
            "CreatedById": self._user_id,
            "LastModifiedDate": now,
            "LastModifiedById": self._user_id,
            "SystemModstamp": now,
        }

    def _object_fields(self, sobject: str) -> tuple[str, ...]:
        names = [name for name in OBJECT_FIELDS[sobject] if self.multi_currency or name != "CurrencyIsoCode"]
        # Account.MasterRecordId: read-only, set on the records a merge deletes (the survivor's id).
        # https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_account.htm
        merged = ("MasterRecordId",) if sobject == "Account" else ()
        system = SYSTEM_FIELDS
        if sobject in UNOWNED_OBJECTS:
            system = tuple(name for name in SYSTEM_FIELDS if name not in {"OwnerId", "IsDeleted"})
        return (*system, *merged, *names)

    def _field_spec(self, sobject: str, name: str) -> FieldSpec:
        """The spec of a field `_object_field` has resolved (audit fields included)."""
        return OBJECT_FIELDS[sobject].get(name) or SYSTEM_SPECS[name]

    def _object_field(self, sobject: str, name: str) -> str | None:
        lowered = name.lower()
        return next((known for known in self._object_fields(sobject) if known.lower() == lowered), None)

    def _find_in(self, sobject: str, record_id: str) -> dict[str, Any]:
        missing = SalesforceApiError(404, "NOT_FOUND", "The requested resource does not exist")
        if not re.fullmatch(r"[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?", record_id):
            raise missing
        full = to_18(record_id[:15])
        if len(record_id) == 18 and record_id.upper() != full.upper():
            raise missing
        record = self._objects[sobject].get(full)
        if record is None:
            raise missing
        if record["IsDeleted"]:
            raise SalesforceApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
        return record

    def _children(self, sobject: str, parent_field: str, parent_id: str) -> list[dict[str, Any]]:
        rows = [
            r
            for r in self._objects[sobject].values()
            if r.get(parent_field) == parent_id and not r["IsDeleted"]
        ]
        return sorted(rows, key=lambda r: (r.get("SortOrder") is None, r.get("SortOrder") or 0))

    def _check_fields(self, sobject: str, fields: dict[str, Any], *, creating: bool) -> dict[str, Any]:
        """Fields as the org would store them, or the error array Salesforce answers with."""
        specs = OBJECT_FIELDS[sobject]
        clean: dict[str, Any] = {}
        for name, value in fields.items():
            known = self._object_field(sobject, name)
            if known is None:
                raise SalesforceApiError(
                    400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {sobject}", [name]
                )
            spec = specs.get(known)
            if spec is None or not (spec.create if creating else spec.update):
                raise SalesforceApiError(
                    400,
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {known}. Please check the security settings of "
                    "this field and verify that it is read/write for your profile or permission set.",
                    [known],
                )
            clean[known] = self._coerce(sobject, known, spec, value)
        if creating:
            missing = [
                name
                for name, spec in specs.items()
                if spec.required and spec.create and clean.get(name) is None
            ]
            if missing:
                raise SalesforceApiError(
                    400,
                    "REQUIRED_FIELD_MISSING",
                    f"Required fields are missing: [{', '.join(missing)}]",
                    missing,
                )
        else:
            blanked = [name for name, value in clean.items() if specs[name].required and value is None]
            if blanked:
                raise SalesforceApiError(
                    400,
                    "REQUIRED_FIELD_MISSING",
                    f"Required fields are missing: [{', '.join(blanked)}]",
                    blanked,
                )
        return clean

    def _coerce(self, sobject: str, name: str, spec: FieldSpec, value: Any) -> Any:
        if value is None or value == "":
            return None
        if spec.kind == "number":
            number = to_number(value, name)
            if spec.precision and abs(number) >= Decimal(10) ** (spec.precision - spec.scale):
                # A value with more integer digits than the field's precision leaves is refused
                # (an org's answer: "NUMBER_OUTSIDE_VALID_RANGE, Completed Action: value outside of
                # valid range on numeric field: 10.0", the label where we name the field).
                # https://github.com/SFDO-Community/declarative-lookup-rollup-summaries/issues/713
                raise SalesforceApiError(
                    400,
                    "NUMBER_OUTSIDE_VALID_RANGE",
                    f"{name}: value outside of valid range on numeric field: {number}",
                    [name],
                )
            return number
        if spec.kind == "integer":
            number = to_number(value, name)
            if number != number.to_integral_value():
                raise SalesforceApiError(
                    400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of int from {value!r}", [name]
                )
            return int(number)
        if spec.kind == "boolean":
            if not isinstance(value, bool):
                raise SalesforceApiError(
                    400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of boolean from {value!r}", [name]
                )
            return value
        if not isinstance(value, str):
            raise SalesforceApiError(
                400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of string from {value!r}", [name]
            )
        if spec.kind == "date":
            try:
                return date.fromisoformat(value)
            except ValueError as exc:
                raise SalesforceApiError(
                    400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of date from {value!r}", [name]
                ) from exc
        if spec.kind == "picklist" and spec.restricted and value not in spec.values:
            # Restricted picklists refuse values outside their list.
            # https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
            raise SalesforceApiError(
                400,
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{name}: bad value for restricted picklist field: {value}",
                [name],
            )
        if spec.kind == "reference":
            target = spec.refers_to or ""
            table = self._objects.get(target, {})
            full = to_18(value[:15]) if re.fullmatch(r"[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?", value) else None
            if full is None:
                raise SalesforceApiError(
                    400, "MALFORMED_ID", f"{name}: id value of incorrect type: {value}", [name]
                )
            if full not in table or table[full]["IsDeleted"]:
                raise SalesforceApiError(
                    400,
                    "INVALID_CROSS_REFERENCE_KEY",
                    "invalid cross reference id",
                    [name],
                )
            return full
        if len(value) > spec.length:
            raise SalesforceApiError(
                400,
                "STRING_TOO_LONG",
                f"{name}: data value too large: {value[:40]} (max length={spec.length})",
                [name],
            )
        return value

    def _insert(self, sobject: str, fields: dict[str, Any]) -> str:
        """Create one record of `sobject` through the same rules as the API (raises SalesforceApiError)."""
        now = self._clock()
        # The standard price book is the org's own (IsStandard is read-only to the API).
        standard = sobject == "Pricebook2" and fields.get("IsStandard") is True
        clean = dict(fields) if standard else self._check_fields(sobject, fields, creating=True)
        record_id = self._ids.new(PREFIXES[sobject])
        record: dict[str, Any] = dict.fromkeys(self._object_fields(sobject))
        record.update(self._system_fields(record_id, now))
        # A custom Checkbox is never null: unchecked unless set.
        record.update(
            {
                name: False
                for name, spec in OBJECT_FIELDS[sobject].items()
                if spec.kind == "boolean" and name.endswith("__c")
            }
        )
        if sobject == "Account" and self.multi_currency:
            record["CurrencyIsoCode"] = "USD"  # the corporate currency, the default of new records
        record.update(clean)
        if sobject == "Opportunity":
            if "Probability" not in clean:
                record["Probability"] = STAGE_PROBABILITIES.get(record.get("StageName") or "")
            if self.multi_currency and record.get("CurrencyIsoCode") is None:
                record["CurrencyIsoCode"] = "USD"  # the corporate currency, the default of new records
            record["HasOpportunityLineItem"] = False
        elif sobject == "OpportunityLineItem":
            self._price_line(record)
        elif sobject == "PricebookEntry":
            product = self._objects["Product2"][record["Product2Id"]]
            record["Name"] = product["Name"]
            if self.multi_currency and record.get("CurrencyIsoCode") is None:
                record["CurrencyIsoCode"] = "USD"
        self._objects[sobject][record_id] = record
        self._after_write(sobject, record, now)
        return record_id

    def _change(self, sobject: str, record_id: str, fields: dict[str, Any]) -> None:
        record = self._find_in(sobject, record_id)
        clean = self._check_fields(sobject, fields, creating=False)
        if (
            sobject == "Opportunity"
            and "CurrencyIsoCode" in clean
            and self._children("OpportunityLineItem", "OpportunityId", record["Id"])
            and clean["CurrencyIsoCode"] != record.get("CurrencyIsoCode")
        ):
            raise SalesforceApiError(
                400,
                "FIELD_INTEGRITY_EXCEPTION",
                "Cannot change the currency of an opportunity that has products",
                ["CurrencyIsoCode"],
            )
        now = self._clock()
        moved = (
            sobject == "Opportunity" and clean.get("StageName", record["StageName"]) != record["StageName"]
        )
        record.update(clean)
        if moved and "Probability" not in clean:
            # A new stage without a Probability of its own takes the stage's default.
            record["Probability"] = STAGE_PROBABILITIES.get(record["StageName"])
        if sobject == "OpportunityLineItem":
            self._price_line(record)
        record["LastModifiedDate"] = now
        record["SystemModstamp"] = now
        self._after_write(sobject, record, now)

    def _price_line(self, line: dict[str, Any]) -> None:
        entry = self._objects["PricebookEntry"][line["PricebookEntryId"]]
        opportunity = self._objects["Opportunity"][line["OpportunityId"]]
        if not entry.get("IsActive"):
            raise SalesforceApiError(
                400,
                "FIELD_INTEGRITY_EXCEPTION",
                "field integrity exception: PricebookEntryId (inactive)",
                ["PricebookEntryId"],
            )
        if self.multi_currency and entry.get("CurrencyIsoCode") != opportunity.get("CurrencyIsoCode"):
            raise SalesforceApiError(
                400,
                "FIELD_INTEGRITY_EXCEPTION",
                "field integrity exception: PricebookEntryId (pricebook entry currency code does not "
                "match opportunity currency code)",
                ["PricebookEntryId"],
            )
        if line.get("Quantity") is not None and line["Quantity"] <= 0:
            raise SalesforceApiError(
                400,
                "FIELD_INTEGRITY_EXCEPTION",
                "field integrity exception: Quantity (must be positive)",
                ["Quantity"],
            )
        line["Product2Id"] = entry["Product2Id"]
        line["ListPrice"] = entry["UnitPrice"]
        line["Name"] = f"{opportunity['Name']} {entry['Name']}"
        if self.multi_currency:
            line["CurrencyIsoCode"] = opportunity.get("CurrencyIsoCode")
        line["TotalPrice"] = (line["Quantity"] * line["UnitPrice"]).quantize(SCALE)

    def _after_write(self, sobject: str, record: dict[str, Any], now: datetime) -> None:
        if sobject == "Account":
            # The org's rule "Account: created, and every time it's edited -> send outbound
            # message". Workflow rules fire on API edits too, so the hub's own writes come back as
            # messages (the ledger checksum suppresses the echo).
            self._queue_notification(record["Id"], now)
        elif sobject == "Opportunity":
            record["IsClosed"], record["IsWon"] = STAGES[record["StageName"]]
            if self._stage_seen.get(record["Id"]) != record["StageName"]:
                self._stage_seen[record["Id"]] = record["StageName"]
                record["LastStageChangeDate"] = now
            self._roll_up(record)
            # The outbound message rule on Opportunity: created, and every time it's edited.
            self._queue_notification(record["Id"], now)
        elif sobject == "OpportunityLineItem":
            parent = self._objects["Opportunity"][record["OpportunityId"]]
            self._roll_up(parent)
            parent["LastModifiedDate"] = now
            parent["SystemModstamp"] = now
            self._queue_notification(parent["Id"], now)

    def _roll_up(self, opportunity: dict[str, Any]) -> None:
        # With products attached, Amount is the sum of the lines' TotalPrice.
        lines = self._children("OpportunityLineItem", "OpportunityId", opportunity["Id"])
        opportunity["HasOpportunityLineItem"] = bool(lines)
        if lines:
            opportunity["Amount"] = sum((line["TotalPrice"] for line in lines), Decimal("0.00"))

    def _replace_line_items(self, opportunity_id: str, items: list[dict[str, Any]]) -> None:
        for line in self._children("OpportunityLineItem", "OpportunityId", opportunity_id):
            line["IsDeleted"] = True
        opportunity = self._objects["Opportunity"][opportunity_id]
        currency = opportunity.get("CurrencyIsoCode") if self.multi_currency else None
        for order, item in enumerate(items, start=1):
            item = dict(item)
            entry_id = self._pricebook_entry(str(item.pop("Product")), currency, item.get("UnitPrice"))
            item.setdefault("SortOrder", order)
            fields = {"OpportunityId": opportunity_id, "PricebookEntryId": entry_id, **item}
            self._insert("OpportunityLineItem", fields)
        if not items:
            self._after_write("Opportunity", opportunity, self._clock())

    def _pricebook_entry(self, product_name: str, currency: str | None, price: Any) -> str:
        """The active standard price book entry of `product_name` in `currency`, created when missing."""
        products = self._objects["Product2"]
        product_id = next((pid for pid, p in products.items() if p["Name"] == product_name), None)
        if product_id is None:
            product_id = self._insert("Product2", {"Name": product_name, "IsActive": True})
        for entry_id, entry in self._objects["PricebookEntry"].items():
            if entry["Product2Id"] == product_id and (
                not self.multi_currency or entry.get("CurrencyIsoCode") == currency
            ):
                return entry_id
        fields: dict[str, Any] = {
            "Pricebook2Id": self.standard_pricebook_id,
            "Product2Id": product_id,
            "UnitPrice": price if price is not None else 0,
            "IsActive": True,
        }
        if self.multi_currency:
            fields["CurrencyIsoCode"] = currency
        return self._insert("PricebookEntry", fields)

    def _parent_of(self, sobject: str, relationship: str) -> tuple[str, str]:
        """(the id field, the parent object) of a parent relationship such as Opportunity.Account."""
        id_field = PARENT_RELATIONSHIPS[(sobject, relationship)]
        return id_field, self._field_spec(sobject, id_field).refers_to or ""

    def _parent_record(
        self, sobject: str, record: dict[str, Any], relationship: str
    ) -> dict[str, Any] | None:
        id_field, target = self._parent_of(sobject, relationship)
        return self._objects[target].get(record.get(id_field) or "")

    def _render_fields(self, sobject: str, record: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
        body: dict[str, Any] = {"attributes": self._attributes(sobject, record["Id"])}
        for name in names:
            if "." not in name:
                body[name] = json_value(record.get(name))
                continue
            relationship, _, parent_field = name.partition(".")
            parent = self._parent_record(sobject, record, relationship)
            if parent is None:
                body[relationship] = None
                continue
            target = self._parent_of(sobject, relationship)[1]
            nested = body.setdefault(relationship, {"attributes": self._attributes(target, parent["Id"])})
            nested[parent_field] = json_value(parent.get(parent_field))
        return body

    def _attributes(self, sobject: str, record_id: str) -> dict[str, str]:
        return {"type": sobject, "url": f"/services/data/v{self._version}/sobjects/{sobject}/{record_id}"}

    def _delete(
        self,
        sobject: str,
        record: dict[str, Any],
        *,
        master_id: str | None = None,
        at: datetime | None = None,
    ) -> None:
        """Into the recycle bin: IsDeleted, written to the delete log; no outbound message is sent.

        Outbound messages fire on create and edit only; a subscriber learns of deletes from the
        delete log (sObject Get Deleted) or queryAll.
        https://developer.salesforce.com/docs/platform/api-rest/guide/resources-getdeleted.html
        """
        now = at or self._clock()
        record["IsDeleted"] = True
        record["SystemModstamp"] = now
        if master_id is not None:
            record["MasterRecordId"] = master_id
        self._delete_log.append((sobject, record["Id"], now))
        if sobject == "OpportunityLineItem":
            self._after_write(sobject, record, now)
