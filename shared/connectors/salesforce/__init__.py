"""Salesforce connector: the CRM as system of record for accounts and opportunities; Outbound Messages.

Org set-up the hub expects (Setup > Object Manager), besides the connected app and the outbound
message rules on Account and Opportunity:

- Account.Tax_Id__c (text, 40): the customer's tax / VAT number, the first key for matching.
- Account.Payment_Terms__c (text, 100), editable by the integration user: the payment terms the
  accounting system owns, shown to sales (the hub writes it; it is never read back).
- Opportunity.Service_Line__c (picklist): the service line the landscape maps to a project template.
- Opportunity.Billing_Model__c (picklist: Time and Materials, Fixed Fee, Retainer).
- Opportunity.Department__c, Delivery_Location__c (picklists) and Cost_Center__c (text): the
  firm's codes the landscape maps to the engagement's department, location and cost center. The
  fields must exist (the hub queries them); a blank value leaves that dimension unset.
- OpportunityLineItem.Role__c (text, optional): the role sold; the product's name when blank.
- Write-back, on Opportunity, editable by the integration user: C2C_PSA_Project_Id__c (text 255),
  C2C_Accounting_Project_Id__c (text 255), C2C_Setup_Status__c (picklist: pending_approval, active,
  rejected, failed), C2C_Setup_Detail__c (long text area, 1,000).
- Billing (issue 11; the table in `health.py`, deployed by the SFDX metadata in `infra/salesforce/`
  with the close2cash_Integration permission set): on Opportunity and Account, written by the hub,
  Invoiced_To_Date__c, Paid_To_Date__c, Credited_To_Date__c, Open_AR__c, Overdue_Amount__c
  (Currency 16, 2), Last_Payment_Date__c and Commercial_Health_As_Of__c (Date); on Opportunity,
  read by the hub, Retainer_Hours__c (Number 6, 2: hours included per month) and
  Retainer_Rollover__c (Checkbox).

The package's face is `build` (the whole connector, `connector.py`) and `receiver` (Outbound
Message verification and parsing only, `webhooks.py`). Both are loaded on first use, so a webhook
is verified without importing the API client, the mapper and the payload models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.connectors.face import lazy_face

if TYPE_CHECKING:
    from shared.connectors.salesforce.connection import SalesforceConnection
    from shared.connectors.salesforce.connector import WRITE_BACK_FIELDS, SalesforceConnector, build
    from shared.connectors.salesforce.webhooks import receiver

__all__ = ["WRITE_BACK_FIELDS", "SalesforceConnection", "SalesforceConnector", "build", "receiver"]

__getattr__ = lazy_face(
    __name__,
    {
        "SalesforceConnection": "connection",
        "SalesforceConnector": "connector",
        "WRITE_BACK_FIELDS": "connector",
        "build": "connector",
        "receiver": "webhooks",
    },
)
