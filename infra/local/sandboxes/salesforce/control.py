"""The control API: edits a user would make in the Salesforce UI, for tests and the demo."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from infra.local.sandboxes.salesforce.errors import SalesforceApiError
from infra.local.sandboxes.salesforce.records import RecordStore
from infra.local.sandboxes.salesforce.wire import dumps


class ControlApi(RecordStore):
    """Edits as a user in the UI makes them (they go through the same rules as the API)."""

    def put_account(self, fields: dict[str, Any], account_id: str | None = None) -> str:
        """Create (no id) or edit an Account as a user in the Salesforce UI would; returns its id.

        Stamps LastModifiedDate/SystemModstamp and queues an outbound notification, as the org's
        rule "Account: created, and every time it's edited -> send outbound message" does.
        """
        with self._lock:
            record = None if account_id is None else self._find_in("Account", account_id)
            try:
                if record is None:
                    return self._insert("Account", dict(fields))
                self._change("Account", record["Id"], dict(fields))
            except SalesforceApiError as exc:
                raise ValueError(exc.message) from exc
            return str(record["Id"])

    def account(self, account_id: str) -> dict[str, Any]:
        """The record as GET sObject Rows returns it, commercial health figures as Decimals
        (KeyError when there is no such Account)."""
        with self._lock:
            try:
                record = self._find_in("Account", account_id)
                body = self._render_fields("Account", record, self._object_fields("Account"))
            except SalesforceApiError as exc:
                raise KeyError(account_id) from exc
            return json.loads(dumps(body), parse_float=Decimal)  # type: ignore[no-any-return]

    def delete_account(self, account_id: str, *, at: datetime | None = None) -> None:
        """A user deletes the Account (into the recycle bin); its opportunities go with it.

        `at` dates the delete in the past (default: now). Get Deleted ignores the seconds of its
        window, so a delete shows once its minute is over: a test that sweeps at once dates it earlier.
        """
        with self._lock:
            record = self._find_in("Account", account_id)
            for opportunity in self._children("Opportunity", "AccountId", record["Id"]):
                self._delete("Opportunity", opportunity, at=at)
            self._delete("Account", record, at=at)

    def merge_accounts(self, master_id: str, loser_id: str) -> None:
        """Merge `loser_id` into `master_id`, as the merge() call and the UI's Merge Accounts do.

        The loser's related records (opportunities) move to the master, the master is edited (so its
        outbound message fires), and the loser is deleted with MasterRecordId = the master.
        https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_merge.htm
        """
        with self._lock:
            master = self._find_in("Account", master_id)
            loser = self._find_in("Account", loser_id)
            if master["Id"] == loser["Id"]:
                raise ValueError("an account cannot be merged into itself")
            for opportunity in self._children("Opportunity", "AccountId", loser["Id"]):
                opportunity["AccountId"] = master["Id"]
            self._delete("Account", loser, master_id=master["Id"])
            self._change("Account", master["Id"], {})

    def account_ids(self) -> list[str]:
        """Every Account id, in creation order."""
        with self._lock:
            return list(self._objects["Account"])

    # --- control API: opportunities ----------------------------------------------------------

    def put_opportunity(
        self,
        fields: dict[str, Any],
        line_items: list[dict[str, Any]] | None = None,
        opportunity_id: str | None = None,
    ) -> str:
        """Create (no id) or edit an Opportunity as a salesperson would; returns its id.

        `line_items` (when given) replaces the products: each is {"Product": name, "Quantity": n,
        "UnitPrice": price} plus optional "Role__c", "Description"; a product and a standard price
        book entry in the opportunity's currency are created the first time a name is used.
        Numbers may be Decimal, int or numeric strings. Raises ValueError with Salesforce's message
        when the org would refuse the edit.
        """
        with self._lock:
            try:
                if opportunity_id is None:
                    record_id = self._insert("Opportunity", dict(fields))
                else:
                    record_id = self._find_in("Opportunity", opportunity_id)["Id"]
                    self._change("Opportunity", record_id, dict(fields))
                if line_items is not None:
                    self._replace_line_items(record_id, line_items)
            except SalesforceApiError as exc:
                raise ValueError(exc.message) from exc
            return str(record_id)

    def opportunity(self, opportunity_id: str) -> dict[str, Any]:
        """The record as GET sObject Rows returns it, written-back C2C_* fields included, plus its
        line items under "OpportunityLineItems" (KeyError when there is no such Opportunity)."""
        with self._lock:
            try:
                record = self._find_in("Opportunity", opportunity_id)
            except SalesforceApiError as exc:
                raise KeyError(opportunity_id) from exc
            body = self._render_fields("Opportunity", record, self._object_fields("Opportunity"))
            body["OpportunityLineItems"] = [
                self._render_fields("OpportunityLineItem", item, self._object_fields("OpportunityLineItem"))
                for item in self._children("OpportunityLineItem", "OpportunityId", record["Id"])
            ]
            return json.loads(dumps(body), parse_float=Decimal)  # type: ignore[no-any-return]

    def opportunity_ids(self) -> list[str]:
        """Every Opportunity id, in creation order."""
        with self._lock:
            return list(self._objects["Opportunity"])

    def close_won(self, opportunity_id: str) -> None:
        """Move the opportunity to Closed Won (IsClosed and IsWon become true)."""
        self.put_opportunity({"StageName": "Closed Won"}, opportunity_id=opportunity_id)

    def reopen(self, opportunity_id: str, stage: str = "Negotiation/Review") -> None:
        """Move a closed opportunity back to an open stage (IsClosed and IsWon become false)."""
        self.put_opportunity({"StageName": stage}, opportunity_id=opportunity_id)
