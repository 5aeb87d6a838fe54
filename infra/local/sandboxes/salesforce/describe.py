"""Describe Global, sObject Describe and Limits: what the org says about itself.

Every answer derives from the schema table, so describe tells a client exactly what the sandbox's
field checks enforce (lengths, picklist values, what may be created or updated).
"""

from __future__ import annotations

import re
from typing import Any

from infra.local.sandboxes.salesforce.errors import SalesforceApiError
from infra.local.sandboxes.salesforce.records import RecordStore
from infra.local.sandboxes.salesforce.schema import (
    CHILD_RELATIONSHIPS,
    EXTERNAL_ID_FIELD,
    OBJECT_FIELDS,
    PARENT_RELATIONSHIPS,
    PREFIXES,
    READ_ONLY_OBJECTS,
    FieldSpec,
)

# The largest batch the org takes in one call (sObject Collections: 200 records).
# https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_describeGlobal.htm
MAX_BATCH_SIZE = 200


def _label(name: str) -> str:
    """A field's label from its API name: Payment_Terms__c -> Payment Terms, BillingCity -> Billing City."""
    bare = name.removesuffix("__c").removesuffix("Id") if name != "Id" else name
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", bare.replace("_", " "))
    return spaced.strip() or name


class DescribeResources(RecordStore):
    """GET /sobjects, /sobjects/X/describe and /limits."""

    def _usage(self) -> int:
        raise NotImplementedError

    def _allocation(self) -> int:
        raise NotImplementedError

    def _urls(self, sobject: str) -> dict[str, str]:
        base = f"/services/data/v{self._version}/sobjects/{sobject}"
        return {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}

    def _object_summary(self, sobject: str) -> dict[str, Any]:
        writable = sobject not in READ_ONLY_OBJECTS
        return {
            "name": sobject,
            "label": _label(sobject),
            "keyPrefix": PREFIXES[sobject],
            "custom": sobject.endswith("__c"),
            "createable": writable,
            "updateable": writable,
            "deletable": writable,
            "queryable": True,
            "retrieveable": True,
            "replicateable": writable,
            "urls": self._urls(sobject),
        }

    def _describe_global(self) -> dict[str, Any]:
        """Describe Global: every object the org serves.

        https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_describeGlobal.htm
        """
        return {
            "encoding": "UTF-8",
            "maxBatchSize": MAX_BATCH_SIZE,
            "sobjects": [self._object_summary(name) for name in OBJECT_FIELDS],
        }

    def _describe_field(self, sobject: str, name: str) -> dict[str, Any]:
        spec: FieldSpec = self._field_spec(sobject, name)
        relationship = next(
            (r for (o, r), f in PARENT_RELATIONSHIPS.items() if o == sobject and f == name), None
        )
        length = spec.length if spec.kind in {"text", "picklist", "id"} else 0
        return {
            "name": name,
            "label": _label(name),
            "type": spec.describe_type,
            "length": length,
            "custom": name.endswith("__c"),
            "nillable": not spec.required and spec.kind != "boolean" and name != "Id",
            "createable": spec.create and sobject not in READ_ONLY_OBJECTS,
            "updateable": spec.update and sobject not in READ_ONLY_OBJECTS,
            "externalId": sobject == "Opportunity" and name == EXTERNAL_ID_FIELD,
            "unique": sobject == "Opportunity" and name == EXTERNAL_ID_FIELD,
            "restrictedPicklist": spec.kind == "picklist" and spec.restricted,
            "picklistValues": [
                {"active": True, "defaultValue": False, "label": value, "validFor": None, "value": value}
                for value in spec.values
            ],
            "precision": (spec.precision or 18) if spec.kind == "number" else 0,
            "scale": spec.scale if spec.kind == "number" else 0,
            "referenceTo": [spec.refers_to] if spec.refers_to else [],
            "relationshipName": relationship,
        }

    def _describe(self, sobject: str) -> dict[str, Any]:
        """sObject Describe: the object's fields and child relationships.

        https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_describe.htm
        """
        if sobject not in OBJECT_FIELDS:
            raise SalesforceApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return {
            **self._object_summary(sobject),
            "fields": [self._describe_field(sobject, name) for name in self._object_fields(sobject)],
            "childRelationships": [
                {"childSObject": child, "field": parent_field, "relationshipName": relationship}
                for (parent, relationship), (child, parent_field) in CHILD_RELATIONSHIPS.items()
                if parent == sobject
            ],
        }

    def _limits(self) -> dict[str, Any]:
        """Limits: the org's allocations and what is left of them. The sandbox meters the daily API
        requests; the call that asks is counted before the answer.

        https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_limits.htm
        """
        allocation = self._allocation()
        return {"DailyApiRequests": {"Max": allocation, "Remaining": max(0, allocation - self._usage())}}
