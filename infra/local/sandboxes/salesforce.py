"""A local Salesforce org: REST (OAuth, Account, Opportunity with products, SOQL) and Outbound Messages.

It answers as the documented REST API does — paths, JSON error arrays, Sforce-Limit-Info, 403
REQUEST_LIMIT_EXCEEDED at the daily allocation, query locators — so the connector is tested against
the protocol, not against a mock. Fault switches let tests and the demo break it on purpose.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from wsgiref.types import StartResponse, WSGIEnvironment
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape, quoteattr

import defusedxml  # type: ignore[import-untyped]
import defusedxml.ElementTree as SafeET  # type: ignore[import-untyped]
import httpx
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

Clock = Callable[[], datetime]

# --- ids ---------------------------------------------------------------------------------------

# Record ids: 3-character key prefix (001 Account, 00D Organization, 04l outbound notification,
# 04k outbound message action), then pod and sequence; 18-character forms add a case-safe suffix.
# (3p) https://salesforce.stackexchange.com/questions/1653/what-are-salesforce-ids-composed-of
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
ACCOUNT_PREFIX = "001"
NOTIFICATION_PREFIX = "04l"
OPPORTUNITY_PREFIX = "006"
LINE_ITEM_PREFIX = "00k"
PRODUCT_PREFIX = "01t"
PRICEBOOK_PREFIX = "01s"
PRICEBOOK_ENTRY_PREFIX = "01u"


def to_18(id15: str) -> str:
    """The case-safe 18-character form of a 15-character id."""
    suffix = ""
    for start in (0, 5, 10):
        flags = sum(1 << i for i, char in enumerate(id15[start : start + 5]) if char.isupper())
        suffix += _SUFFIX[flags]
    return id15 + suffix


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, rest = divmod(number, 62)
        digits.append(_BASE62[rest])
    return "".join(reversed(digits))


class _IdFactory:
    """Sequential ids per key prefix, like an org hands them out (pod "8d", then a sequence)."""

    def __init__(self) -> None:
        self._sequences: dict[str, itertools.count[int]] = {}
        self._lock = threading.Lock()

    def new(self, prefix: str) -> str:
        with self._lock:
            sequence = self._sequences.setdefault(prefix, itertools.count(10_000_000_000))
            number = next(sequence) * 7_919  # spread ids so upper and lower case both occur
        return to_18(f"{prefix}8d0{_base62(number, 9)}")


# --- the Account object --------------------------------------------------------------------------

# Account's fields are free text; the sandbox checks neither their length nor a picklist.
ACCOUNT_FIELDS = (
    "Name",
    "Type",
    "Industry",
    "AccountNumber",
    "Website",
    "Phone",
    "Description",
    "BillingStreet",
    "BillingCity",
    "BillingState",
    "BillingPostalCode",
    "BillingCountry",
    "CurrencyIsoCode",
    "Tax_Id__c",
    "Payment_Terms__c",
)
SYSTEM_FIELDS = (
    "Id",
    "IsDeleted",
    "OwnerId",
    "CreatedDate",
    "CreatedById",
    "LastModifiedDate",
    "LastModifiedById",
    "SystemModstamp",
)
DATETIME_FIELDS = frozenset({"CreatedDate", "LastModifiedDate", "SystemModstamp", "LastStageChangeDate"})
# The fields the outbound message rule was set up to send (Setup > Outbound Messages > fields).
ACCOUNT_OUTBOUND_FIELDS = (
    "Id",
    "Name",
    "Website",
    "Phone",
    "BillingStreet",
    "BillingCity",
    "BillingState",
    "BillingPostalCode",
    "BillingCountry",
    "CurrencyIsoCode",
    "LastModifiedDate",
    "SystemModstamp",
)


def sf_datetime(value: datetime) -> str:
    """Salesforce's JSON dateTime form: 2013-05-20T20:49:32.000+0000.

    https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/intro_valid_date_formats.htm
    """
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


class SalesforceApiError(Exception):
    """An error answered as Salesforce does: HTTP status plus a JSON array of {message, errorCode, fields}."""

    def __init__(self, status: int, code: str, message: str, fields: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = list(fields)

    def body(self) -> list[dict[str, Any]]:
        return [{"message": self.message, "errorCode": self.code, "fields": self.fields}]


# Error bodies for `fail_next(n, status)`, by status.
# https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
_FAULTS = {
    400: ("MALFORMED_QUERY", "Bad request"),
    401: ("INVALID_SESSION_ID", "Session expired or invalid"),
    403: ("INSUFFICIENT_ACCESS", "Insufficient access"),
    404: ("NOT_FOUND", "The requested resource does not exist"),
    500: (
        "UNKNOWN_EXCEPTION",
        "An unexpected error occurred. Please include this ErrorId if you contact support",
    ),
    502: ("SERVER_UNAVAILABLE", "Bad gateway"),
    503: ("SERVER_UNAVAILABLE", "Server unavailable"),
}


# --- Opportunity, its products, and the price book they come from --------------------------------


@dataclass(frozen=True)
class FieldSpec:
    """One field of a sandbox object: its type, and whether the API may set it."""

    kind: str  # text, picklist, date, number, reference, boolean
    length: int = 255
    values: tuple[str, ...] = ()  # a restricted picklist's values
    refers_to: str | None = None
    create: bool = True
    update: bool = True
    required: bool = False


# Stages of the standard sales process: (label, IsClosed, IsWon). IsClosed and IsWon are read-only
# and follow from the stage's settings.
# https://developer.salesforce.com/docs/atlas.en-us.228.0.sfFieldRef.meta/sfFieldRef/salesforce_field_reference_Opportunity.htm
STAGES: dict[str, tuple[bool, bool]] = {
    "Prospecting": (False, False),
    "Qualification": (False, False),
    "Proposal/Price Quote": (False, False),
    "Negotiation/Review": (False, False),
    "Closed Won": (True, True),
    "Closed Lost": (True, False),
}
CURRENCIES = ("USD", "EUR", "GBP", "CAD", "JPY")
SERVICE_LINES = ("Advisory", "Implementation", "Managed Services", "Training")
BILLING_MODELS = ("Time and Materials", "Fixed Fee", "Retainer")
DEPARTMENTS = ("Strategy", "Technology")
LOCATIONS = ("New York", "London")
SETUP_STATUSES = ("pending_approval", "active", "rejected", "failed")
# The hub's key on Opportunity, marked External ID + Unique, so the sObject Rows by External ID
# resource can address opportunities by it.
EXTERNAL_ID_FIELD = "C2C_External_Id__c"

_UNCHECKED_LENGTH = 2**63

OBJECT_FIELDS: dict[str, dict[str, FieldSpec]] = {
    "Account": {
        name: FieldSpec("text", _UNCHECKED_LENGTH, required=name == "Name") for name in ACCOUNT_FIELDS
    },
    "Opportunity": {
        "Name": FieldSpec("text", 120, required=True),
        "AccountId": FieldSpec("reference", refers_to="Account"),
        "StageName": FieldSpec("picklist", values=tuple(STAGES), required=True),
        "CloseDate": FieldSpec("date", required=True),
        "Amount": FieldSpec("number"),
        "CurrencyIsoCode": FieldSpec("picklist", values=CURRENCIES),
        "Description": FieldSpec("text", 32_000),
        "IsClosed": FieldSpec("boolean", create=False, update=False),
        "IsWon": FieldSpec("boolean", create=False, update=False),
        "HasOpportunityLineItem": FieldSpec("boolean", create=False, update=False),
        # Read-only, set by Salesforce when StageName changes (API 52.0+): a re-close moves it, an
        # edit of any other field does not.
        "LastStageChangeDate": FieldSpec("datetime", create=False, update=False),
        "Pricebook2Id": FieldSpec("reference", refers_to="Pricebook2"),
        "Service_Line__c": FieldSpec("picklist", values=SERVICE_LINES),
        "Billing_Model__c": FieldSpec("picklist", values=BILLING_MODELS),
        "Department__c": FieldSpec("picklist", values=DEPARTMENTS),
        "Delivery_Location__c": FieldSpec("picklist", values=LOCATIONS),
        "Cost_Center__c": FieldSpec("text", 40),
        "C2C_PSA_Project_Id__c": FieldSpec("text"),
        "C2C_Accounting_Project_Id__c": FieldSpec("text"),
        "C2C_Setup_Status__c": FieldSpec("picklist", values=SETUP_STATUSES),
        "C2C_Setup_Detail__c": FieldSpec("text", 1_000),
        EXTERNAL_ID_FIELD: FieldSpec("text"),
    },
    # https://developer.salesforce.com/docs/platform/object-reference/references/standard-objects/object-opportunitylineitem.html
    "OpportunityLineItem": {
        "OpportunityId": FieldSpec("reference", refers_to="Opportunity", update=False, required=True),
        "PricebookEntryId": FieldSpec("reference", refers_to="PricebookEntry", update=False, required=True),
        "Product2Id": FieldSpec("reference", refers_to="Product2", create=False, update=False),
        "Name": FieldSpec("text", 376, create=False, update=False),
        "Quantity": FieldSpec("number", required=True),
        "UnitPrice": FieldSpec("number", required=True),
        "ListPrice": FieldSpec("number", create=False, update=False),
        "TotalPrice": FieldSpec("number", create=False, update=False),
        "Description": FieldSpec("text"),
        "SortOrder": FieldSpec("number"),
        "CurrencyIsoCode": FieldSpec("picklist", values=CURRENCIES, create=False, update=False),
        "Role__c": FieldSpec("text", 80),
    },
    "Product2": {
        "Name": FieldSpec("text", required=True),
        "ProductCode": FieldSpec("text"),
        "IsActive": FieldSpec("boolean"),
    },
    "Pricebook2": {
        "Name": FieldSpec("text", required=True),
        "IsActive": FieldSpec("boolean"),
        "IsStandard": FieldSpec("boolean", create=False, update=False),
    },
    # A PricebookEntry ties a product to a price book in one currency; line items name the entry.
    # https://developer.salesforce.com/docs/platform/object-reference/references/standard-objects/object-pricebookentry.html
    "PricebookEntry": {
        "Pricebook2Id": FieldSpec("reference", refers_to="Pricebook2", update=False, required=True),
        "Product2Id": FieldSpec("reference", refers_to="Product2", update=False, required=True),
        "Name": FieldSpec("text", create=False, update=False),
        "UnitPrice": FieldSpec("number", required=True),
        "IsActive": FieldSpec("boolean"),
        "CurrencyIsoCode": FieldSpec("picklist", values=CURRENCIES),
    },
}
PREFIXES = {
    "Account": ACCOUNT_PREFIX,
    "Opportunity": OPPORTUNITY_PREFIX,
    "OpportunityLineItem": LINE_ITEM_PREFIX,
    "Product2": PRODUCT_PREFIX,
    "Pricebook2": PRICEBOOK_PREFIX,
    "PricebookEntry": PRICEBOOK_ENTRY_PREFIX,
}
# Child relationships a subquery may name: relationship -> (child object, its field naming the parent).
CHILD_RELATIONSHIPS = {("Opportunity", "OpportunityLineItems"): ("OpportunityLineItem", "OpportunityId")}
# Parent relationships a SELECT may traverse with a dot: (object, relationship) -> id field.
PARENT_RELATIONSHIPS = {
    ("OpportunityLineItem", "Product2"): "Product2Id",
    ("OpportunityLineItem", "PricebookEntry"): "PricebookEntryId",
    ("Opportunity", "Account"): "AccountId",
}
OPPORTUNITY_OUTBOUND_FIELDS = (
    "Id",
    "Name",
    "AccountId",
    "StageName",
    "IsClosed",
    "IsWon",
    "CloseDate",
    "Amount",
    "CurrencyIsoCode",
    "LastModifiedDate",
    "SystemModstamp",
)
# Each object's outbound message rule and the fields it sends.
OUTBOUND_FIELDS = {"Account": ACCOUNT_OUTBOUND_FIELDS, "Opportunity": OPPORTUNITY_OUTBOUND_FIELDS}
# Currency fields have 2 decimal places, Quantity too (field reference: precision 18/12, scale 2).
_SCALE = Decimal("0.01")
_NUMBER_MARK = "\u0000num:"


def _number(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise SalesforceApiError(
            400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of double from {value!r}", [name]
        )
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise SalesforceApiError(
            400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of double from {value!r}", [name]
        ) from exc
    if not number.is_finite():
        raise SalesforceApiError(
            400, "NUMBER_OUTSIDE_VALID_RANGE", f"{name}: value outside of valid range", [name]
        )
    return number.quantize(_SCALE)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return sf_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{_NUMBER_MARK}{format(value, 'f')}"
    return value


def dumps(body: Any) -> str:
    """JSON as Salesforce writes it: currency and quantity fields as JSON numbers (exact digits)."""
    text = json.dumps(body)
    # Decimals travel as marked strings through json.dumps, then lose their quotes: a float would
    # round 1234567.10 on the way.
    return re.sub(r'"\\u0000num:(-?[0-9.]+)"', r"\1", text)


# --- SOQL (the subset this slice needs) ----------------------------------------------------------

_SOQL = re.compile(
    r"^\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<object>\w+)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?"
    r"(?:\s+ORDER\s+BY\s+(?P<order>\w+)(?:\s+(?P<direction>ASC|DESC))?)?"
    r"(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_CONDITION = re.compile(
    r"^\s*(?P<field>\w+)\s*(?P<op>!=|<=|>=|=|<|>|\bLIKE\b)\s*(?P<value>'(?:[^'\\]|\\.)*'|\S+)\s*$",
    re.IGNORECASE,
)
# SOQL dateTime literals: 2024-01-01T00:00:00Z or with an offset; never quoted.
# https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_dateformats.htm
_DATETIME_LITERAL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2})$")


@dataclass(frozen=True)
class _Condition:
    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class _Subquery:
    relationship: str
    fields: tuple[str, ...]
    order: str | None
    descending: bool


@dataclass(frozen=True)
class _Query:
    fields: tuple[str, ...]
    conditions: tuple[_Condition, ...]
    order: str | None
    descending: bool
    limit: int | None
    sobject: str = "Account"
    subqueries: tuple[_Subquery, ...] = ()


# A parent-to-child subquery in the SELECT list: (SELECT fields FROM ChildRelationship [ORDER BY f]).
# https://developer.salesforce.com/docs/platform/salesforce-soql-sosl/guide/sforce-api-calls-soql-relationships-query-using.md
_SUBQUERY = re.compile(
    r"\(\s*SELECT\s+(?P<fields>[^()]+?)\s+FROM\s+(?P<relationship>\w+)"
    r"(?:\s+ORDER\s+BY\s+(?P<order>\w+)(?:\s+(?P<direction>ASC|DESC))?)?\s*\)",
    re.IGNORECASE,
)


def _malformed(message: str) -> SalesforceApiError:
    return SalesforceApiError(400, "MALFORMED_QUERY", message)


def _literal(raw: str, field_name: str) -> Any:
    if raw.startswith("'"):
        if field_name in DATETIME_FIELDS:
            raise _malformed(
                f"value of filter criterion for field '{field_name}' must be of type dateTime "
                "and should not be enclosed in quotes"
            )
        return re.sub(r"\\(.)", r"\1", raw[1:-1])
    lowered = raw.lower()
    if lowered == "null":
        return None
    if lowered in {"true", "false"}:
        return lowered == "true"
    if _DATETIME_LITERAL.match(raw):
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).astimezone(UTC)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        return date.fromisoformat(raw)
    if re.fullmatch(r"-?\d+(\.\d+)?", raw):
        return float(raw)
    raise _malformed(f"unexpected token: '{raw}'")


def _like(pattern: str) -> re.Pattern[str]:
    return re.compile(
        "^" + "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern) + "$",
        re.IGNORECASE | re.DOTALL,
    )


# --- outbound messaging --------------------------------------------------------------------------

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND = "http://soap.sforce.com/2005/09/outbound"
SOBJECT = "urn:sobject.enterprise.soap.sforce.com"
# At most 100 notifications per message (WSDL maxOccurs="100"); undelivered ones are dropped after
# 24 hours. https://developer.salesforce.com/docs/atlas.en-us.246.0.api.meta/api/sforce_api_om_outboundmessaging_notifications.htm
MAX_NOTIFICATIONS_PER_MESSAGE = 100
OUTBOUND_RETENTION = timedelta(hours=24)


@dataclass
class PendingNotification:
    """One queued outbound notification: its own id and the record it is about."""

    notification_id: str
    record_id: str
    queued_at: datetime
    attempts: int = 0


@dataclass(frozen=True)
class DeliveryAttempt:
    """One POST of an outbound message to the subscriber, and what came of it."""

    at: datetime
    notification_ids: tuple[str, ...]
    status: int | None
    acknowledged: bool
    error: str | None = None


@dataclass
class _Subscriber:
    url: str
    token: str
    transport: httpx.BaseTransport | None


@dataclass
class _Cursor:
    object_name: str
    ids: list[str]
    fields: tuple[str, ...]
    batch: int
    last_used: datetime
    version: str = field(default="")
    subqueries: tuple[_Subquery, ...] = ()


# --- the sandbox ---------------------------------------------------------------------------------


class SalesforceSandbox:
    """A local Salesforce org for tests and the demo: a WSGI app plus a thread-safe control API."""

    def __init__(
        self,
        *,
        organization_id: str = "00D8d000005XaMpEAK",
        client_id: str = "3MVG9close2cash.sandbox.client",
        client_secret: str = "sandbox-client-secret",  # noqa: S107 - a local twin's default
        clock: Clock | None = None,
        api_version: str = "62.0",
        api_limit: int = 15_000,
        page_size: int = 2_000,
        token_ttl: timedelta = timedelta(hours=2),
        multi_currency: bool = True,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not re.fullmatch(r"00D[a-zA-Z0-9]{12}([a-zA-Z0-9]{3})?", organization_id):
            raise ValueError("organization_id must be a 15- or 18-character id starting with 00D")
        # A real org's 18-character id always carries the case-safe suffix of its first 15
        # characters; a hand-typed suffix is corrected so that what the org sends is consistent.
        self.organization_id = to_18(organization_id[:15])
        self.client_id = client_id
        self.client_secret = client_secret
        self.api_version = api_version
        self.multi_currency = multi_currency
        self.base_url = "http://salesforce.sandbox"
        self._clock: Clock = clock or (lambda: datetime.now(UTC))
        self._sleep = sleep
        self._lock = threading.RLock()
        self._delivery_lock = threading.Lock()
        self._ids = _IdFactory()
        self._user_id = to_18("0058d000001IntU")
        self._action_id = to_18("04k8d000000Om1A")
        # Developer Edition's daily allocation (3p figure, VENDORS.md); set_api_limit changes it.
        self._api_limit = api_limit
        self._api_calls: deque[datetime] = deque()
        self._page_size = page_size
        self._token_ttl = token_ttl
        self._tokens: dict[str, datetime] = {}
        self._objects: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in OBJECT_FIELDS}
        self._stage_seen: dict[str, str] = {}  # opportunity id -> stage at its LastStageChangeDate
        self.standard_pricebook_id = self._insert(
            "Pricebook2", {"Name": "Standard Price Book", "IsActive": True, "IsStandard": True}
        )
        self._cursors: dict[str, _Cursor] = {}
        self._faults: deque[int] = deque()
        self._latency = 0.0
        self._subscriber: _Subscriber | None = None
        self._default_token = secrets.token_urlsafe(24)
        self._pending: list[PendingNotification] = []
        self.delivery_attempts: list[DeliveryAttempt] = []
        self._last_delivered: list[PendingNotification] = []
        self.dropped_notifications: list[PendingNotification] = []
        self.requests: list[tuple[str, str]] = []
        self._delete_log: list[tuple[str, str, datetime]] = []  # (sobject, id, deleted at)
        self._routes = Map(
            [
                Rule("/services/oauth2/token", methods=["POST"], endpoint="token"),
                Rule("/services/data", methods=["GET"], endpoint="versions"),
                Rule("/services/data/v<version>/sobjects/<sobject>", methods=["POST"], endpoint="create"),
                Rule(
                    "/services/data/v<version>/sobjects/<sobject>/<record_id>",
                    methods=["GET", "PATCH", "DELETE"],
                    endpoint="row",
                ),
                Rule(
                    "/services/data/v<version>/sobjects/<sobject>/<id_field>/<value>",
                    methods=["GET", "PATCH"],
                    endpoint="external_id",
                ),
                Rule("/services/data/v<version>/query", methods=["GET"], endpoint="query"),
                Rule("/services/data/v<version>/queryAll", methods=["GET"], endpoint="query_all"),
                Rule(
                    "/services/data/v<version>/sobjects/<sobject>/deleted",
                    methods=["GET"],
                    endpoint="deleted",
                ),
                Rule("/services/data/v<version>/query/<locator>", methods=["GET"], endpoint="query_more"),
            ],
            strict_slashes=False,
        )

    # --- control API ---------------------------------------------------------------------------

    def connection(self, base_url: str) -> dict[str, Any]:
        """The connection settings `shared.connectors.salesforce.build` accepts for this org at `base_url`."""
        with self._lock:
            self.base_url = base_url.rstrip("/")
            token = self._subscriber.token if self._subscriber else self._default_token
            return {
                "login_url": self.base_url,
                "api_version": self.api_version,
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "organization_id": self.organization_id,
                "webhook_token": token,
                "multi_currency": self.multi_currency,
            }

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
        """The record as GET sObject Rows returns it (KeyError when there is no such Account)."""
        with self._lock:
            try:
                record = self._find_in("Account", account_id)
                return self._render_fields("Account", record, self._object_fields("Account"))
            except SalesforceApiError as exc:
                raise KeyError(account_id) from exc

    def delete_account(self, account_id: str) -> None:
        """A user deletes the Account (into the recycle bin); its opportunities go with it."""
        with self._lock:
            record = self._find_in("Account", account_id)
            for opportunity in self._children("Opportunity", "AccountId", record["Id"]):
                self._delete("Opportunity", opportunity)
            self._delete("Account", record)

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

    def subscribe(self, url: str, *, token: str, transport: httpx.BaseTransport | None = None) -> None:
        """Point the outbound message rule at `url`; messages are POSTed to url?token=<token>."""
        with self._lock:
            self._subscriber = _Subscriber(url=url, token=token, transport=transport)

    @property
    def pending_notifications(self) -> list[PendingNotification]:
        """Notifications queued and not yet acknowledged, oldest first."""
        with self._lock:
            return list(self._pending)

    def drop_pending(self, record_id: str) -> int:
        """Lose the queued notifications about `record_id`, as when the outbound message rule was
        inactive at the time of the save, or Salesforce gave up after 24 hours; returns how many."""
        with self._lock:
            kept = [p for p in self._pending if p.record_id != record_id]
            dropped = len(self._pending) - len(kept)
            self._pending = kept
            return dropped

    def deliver_pending(self) -> int:
        """POST queued notifications (up to 100 per message); returns how many were acknowledged.

        A notification leaves the queue only when the reply is a SOAP notificationsResponse with
        Ack true; otherwise it stays for the next round (Salesforce retries with backoff) until it is
        24 hours old, when it is dropped as Salesforce drops it.
        """
        acknowledged = 0
        with self._delivery_lock:
            while True:
                with self._lock:
                    self._drop_expired()
                    subscriber = self._subscriber
                    # Each outbound message rule (one per object) sends its own messages, so a
                    # message carries notifications about one object type only.
                    kind = self._pending[0].record_id[:3] if self._pending else ""
                    same = [p for p in self._pending if p.record_id[:3] == kind]
                    batch = same[:MAX_NOTIFICATIONS_PER_MESSAGE]
                    if subscriber is None or not batch:
                        return acknowledged
                    for item in batch:
                        item.attempts += 1
                    body = self._outbound_message(batch)
                attempt = self._post(subscriber, body, batch)
                with self._lock:
                    self.delivery_attempts.append(attempt)
                    if not attempt.acknowledged:
                        return acknowledged
                    delivered = set(attempt.notification_ids)
                    self._last_delivered = [p for p in self._pending if p.notification_id in delivered]
                    self._pending = [p for p in self._pending if p.notification_id not in delivered]
                acknowledged += len(batch)

    def replay_last_delivery(self) -> int:
        """Queue the last acknowledged message's notifications again, same ids: Salesforce delivers at
        least once, so a listener sees redeliveries. Returns how many were queued again.

        https://developer.salesforce.com/docs/atlas.en-us.246.0.api.meta/api/sforce_api_om_outboundmessaging_notifications.htm
        """
        with self._lock:
            again = [
                PendingNotification(p.notification_id, p.record_id, self._clock())
                for p in self._last_delivered
            ]
            self._pending = again + self._pending
            return len(again)

    def wsgi_app(self) -> SalesforceSandbox:
        """The WSGI application to serve (the sandbox itself is one)."""
        return self

    def fail_next(self, n: int, status: int = 503) -> None:
        """The next `n` REST data API requests (not the token endpoint) answer `status` with an error body."""
        with self._lock:
            self._faults.extend([status] * n)

    def set_api_limit(self, n: int) -> None:
        """The org's rolling 24-hour API allocation; calls beyond it get 403 REQUEST_LIMIT_EXCEEDED."""
        with self._lock:
            self._api_limit = n

    def set_latency(self, seconds: float) -> None:
        """Delay every response by `seconds` (through the injected sleep)."""
        with self._lock:
            self._latency = seconds

    def expire_sessions(self) -> None:
        """Invalidate every access token issued so far (an admin revoked sessions / they timed out)."""
        with self._lock:
            self._tokens.clear()

    @property
    def api_usage(self) -> tuple[int, int]:
        """(calls in the last 24 hours, daily allocation)."""
        with self._lock:
            return self._usage(), self._api_limit

    # --- WSGI ----------------------------------------------------------------------------------

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        response = self._handle(request)
        return response(environ, start_response)

    def _handle(self, request: Request) -> Response:
        with self._lock:
            latency = self._latency
            self.requests.append((request.method, request.path))
        if latency:
            self._sleep(latency)
        adapter = self._routes.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except NotFound:
            return self._error(SalesforceApiError(404, "NOT_FOUND", "The requested resource does not exist"))
        except MethodNotAllowed:
            return self._error(
                SalesforceApiError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed")
            )
        if endpoint == "token":
            return self._token(request)
        if endpoint == "versions":
            return self._json(
                [
                    {
                        "label": "Sandbox",
                        "url": f"/services/data/v{self.api_version}",
                        "version": self.api_version,
                    }
                ]
            )
        with self._lock:
            try:
                self._authorize(request)
                if self._faults:
                    status = self._faults.popleft()
                    code, message = _FAULTS.get(status, ("UNKNOWN_EXCEPTION", "Injected failure"))
                    raise SalesforceApiError(status, code, message)
                self._spend_api_call()
                if not re.fullmatch(r"\d{2,3}\.0", args["version"]):
                    raise SalesforceApiError(404, "NOT_FOUND", "The requested resource does not exist")
                response = self._dispatch(endpoint, request, {k: str(v) for k, v in args.items()})
            except SalesforceApiError as exc:
                response = self._error(exc)
            response.headers["Sforce-Limit-Info"] = f"api-usage={self._usage()}/{self._api_limit}"
            return response

    def _dispatch(self, endpoint: str, request: Request, args: dict[str, str]) -> Response:
        if endpoint in {"create", "row", "external_id"}:
            sobject = args["sobject"]
            # Account has no External ID field, so it has no sObject Rows by External ID resource.
            if sobject not in OBJECT_FIELDS or (endpoint == "external_id" and sobject == "Account"):
                raise SalesforceApiError(404, "NOT_FOUND", "The requested resource does not exist")
            return self._dispatch_object(endpoint, request, args)
        if endpoint == "query":
            return self._json(self._run_query(request, args["version"]))
        if endpoint == "query_all":
            return self._json(self._run_query(request, args["version"], include_deleted=True))
        if endpoint == "deleted":
            return self._json(self._get_deleted(request, args["sobject"]))
        return self._json(self._query_more(args["locator"], args["version"]))

    # --- OAuth ---------------------------------------------------------------------------------

    # Client credentials flow: form-encoded POST; bad credentials -> 400 invalid_client.
    # https://developer.salesforce.com/docs/atlas.en-us.262.0.chatterapi.meta/chatterapi/quickstart_connecting.htm
    def _token(self, request: Request) -> Response:
        form = request.form
        if form.get("grant_type") != "client_credentials":
            return self._json(
                {"error": "unsupported_grant_type", "error_description": "grant type not supported"},
                status=400,
            )
        client_id = form.get("client_id", "")
        client_secret = form.get("client_secret", "")
        valid = secrets.compare_digest(
            client_id.encode(), self.client_id.encode()
        ) and secrets.compare_digest(client_secret.encode(), self.client_secret.encode())
        if not valid:
            return self._json(
                {"error": "invalid_client", "error_description": "invalid client credentials"}, status=400
            )
        now = self._clock()
        token = f"{self.organization_id[:15]}!{secrets.token_urlsafe(40)}"
        with self._lock:
            self._tokens[token] = now
        issued_at = str(int(now.timestamp() * 1000))
        instance = request.host_url.rstrip("/")
        identity = f"{instance}/id/{self.organization_id}/{self._user_id}"
        signature = base64.b64encode(hashlib.sha256(f"{identity}{issued_at}".encode()).digest()).decode()
        return self._json(
            {
                "access_token": token,
                "signature": signature,
                "scope": "api",
                "instance_url": instance,
                "id": identity,
                "token_type": "Bearer",
                "issued_at": issued_at,
            }
        )

    def _authorize(self, request: Request) -> None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        issued = self._tokens.get(token) if scheme.lower() in {"bearer", "oauth"} else None
        if issued is None or self._clock() - issued >= self._token_ttl:
            self._tokens.pop(token, None)
            raise SalesforceApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")

    # --- limits --------------------------------------------------------------------------------

    def _usage(self) -> int:
        horizon = self._clock() - timedelta(hours=24)
        while self._api_calls and self._api_calls[0] <= horizon:
            self._api_calls.popleft()
        return len(self._api_calls)

    def _spend_api_call(self) -> None:
        # Rolling 24-hour allocation; once spent, every call of the org is refused with 403.
        # https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
        if self._usage() >= self._api_limit:
            raise SalesforceApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        self._api_calls.append(self._clock())

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

    # --- SOQL ----------------------------------------------------------------------------------

    def _parse_soql(self, soql: str) -> _Query:
        subqueries: list[str] = []

        def pull(found: re.Match[str]) -> str:
            subqueries.append(found.group(0))
            return f"__subquery{len(subqueries) - 1}"

        flat = _SUBQUERY.sub(pull, soql)
        match = _SOQL.match(flat)
        if match is None:
            raise _malformed(f"unexpected token in query: {soql[:80]!r}")
        sobject = next((name for name in OBJECT_FIELDS if name.lower() == match["object"].lower()), None)
        if sobject in {None, "Account"} and subqueries:
            raise _malformed("Account queries in this sandbox take no subqueries")
        if sobject is None:
            raise SalesforceApiError(
                400, "INVALID_TYPE", f"sObject type '{match['object']}' is not supported."
            )
        return self._parse_object_soql(sobject, match, subqueries)

    @staticmethod
    def _matches(record: dict[str, Any], condition: _Condition) -> bool:
        value = record.get(condition.field)
        expected = condition.value
        if condition.op == "LIKE":
            return isinstance(value, str) and isinstance(expected, str) and bool(_like(expected).match(value))
        if condition.op == "=":
            return bool(value == expected)
        if condition.op == "!=":
            return bool(value != expected)
        if value is None or expected is None:
            return False
        try:
            if condition.op == "<":
                return bool(value < expected)
            if condition.op == "<=":
                return bool(value <= expected)
            if condition.op == ">":
                return bool(value > expected)
            return bool(value >= expected)
        except TypeError as exc:
            raise _malformed(f"cannot compare field '{condition.field}' with {expected!r}") from exc

    def _batch_size(self, request: Request) -> int:
        # Sforce-Query-Options: batchSize=N (200..2,000, default 2,000), further capped by the
        # sandbox's own page size so that tests can page through a handful of records.
        # https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_queryoptions.htm
        requested = 2_000
        match = re.search(r"batchSize=(\d+)", request.headers.get("Sforce-Query-Options", ""))
        if match:
            requested = min(2_000, max(200, int(match.group(1))))
        return max(1, min(requested, self._page_size))

    def _run_query(self, request: Request, version: str, *, include_deleted: bool = False) -> dict[str, Any]:
        """Query; QueryAll (`include_deleted`) also returns deleted and merged-away records.

        https://developer.salesforce.com/docs/platform/api-rest/guide/dome-queryall.html
        """
        soql = request.args.get("q")
        if not soql:
            raise _malformed("A query string has to be specified")
        query = self._parse_soql(soql)
        rows = [r for r in self._objects[query.sobject].values() if include_deleted or not r["IsDeleted"]]
        rows = [r for r in rows if all(self._matches(r, c) for c in query.conditions)]
        if query.order is not None:
            order = query.order
            rows.sort(key=lambda r: (r.get(order) is None, r.get(order)), reverse=query.descending)
        if query.limit is not None:
            rows = rows[: query.limit]
        cursor = _Cursor(
            object_name=query.sobject,
            ids=[r["Id"] for r in rows],
            fields=query.fields,
            batch=self._batch_size(request),
            last_used=self._clock(),
            version=version,
            subqueries=query.subqueries,
        )
        return self._page(cursor, 0)

    def _page(self, cursor: _Cursor, offset: int) -> dict[str, Any]:
        ids = cursor.ids[offset : offset + cursor.batch]
        records = []
        for record_id in ids:
            rendered = self._render_object(cursor.object_name, record_id, cursor)
            if "Id" not in cursor.fields:
                rendered.pop("Id", None)
            records.append(rendered)
        body: dict[str, Any] = {"totalSize": len(cursor.ids), "done": offset + len(ids) >= len(cursor.ids)}
        if not body["done"]:
            locator = next((key for key, value in self._cursors.items() if value is cursor), None)
            if locator is None:
                locator = "01g" + secrets.token_hex(6)[:12] + "A2"
                self._cursors[locator] = cursor
            body["nextRecordsUrl"] = f"/services/data/v{cursor.version}/query/{locator}-{offset + len(ids)}"
        body["records"] = records
        return body

    def _query_more(self, locator: str, version: str) -> dict[str, Any]:
        key, _, raw_offset = locator.rpartition("-")
        cursor = self._cursors.get(key)
        now = self._clock()
        # Query locators expire after 15 minutes of inactivity.
        # https://developer.salesforce.com/docs/platform/api-rest/guide/resources-query-more-results.html
        if cursor is None or not raw_offset.isdigit() or now - cursor.last_used > timedelta(minutes=15):
            self._cursors.pop(key, None)
            raise SalesforceApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        cursor.last_used = now
        return self._page(cursor, int(raw_offset))

    # --- outbound messages ---------------------------------------------------------------------

    def _queue_notification(self, record_id: str, now: datetime) -> None:
        self._pending.append(
            PendingNotification(
                notification_id=self._ids.new(NOTIFICATION_PREFIX), record_id=record_id, queued_at=now
            )
        )

    def _drop_expired(self) -> None:
        horizon = self._clock() - OUTBOUND_RETENTION
        expired = [p for p in self._pending if p.queued_at <= horizon]
        if expired:
            self.dropped_notifications.extend(expired)
            self._pending = [p for p in self._pending if p.queued_at > horizon]

    def _outbound_message(self, batch: list[PendingNotification]) -> bytes:
        """The SOAP notifications() message for `batch`, with each record's latest data.

        https://developer.salesforce.com/docs/platform/api/guide/sforce-api-om-outboundmessaging-wsdl.html
        """
        org15 = self.organization_id[:15]
        parts = [
            '<?xml version="1.0" encoding="UTF-8"?>',
            f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}" xmlns:xsd="http://www.w3.org/2001/XMLSchema"'
            ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
            "<soapenv:Body>",
            f'<notifications xmlns="{OUTBOUND}">',
            f"<OrganizationId>{self.organization_id}</OrganizationId>",
            f"<ActionId>{self._action_id}</ActionId>",
            '<SessionId xsi:nil="true"/>',
            f"<EnterpriseUrl>{escape(self.base_url)}/services/Soap/c/{self.api_version}/{org15}</EnterpriseUrl>",
            f"<PartnerUrl>{escape(self.base_url)}/services/Soap/u/{self.api_version}/{org15}</PartnerUrl>",
        ]
        for item in batch:
            sobject = next(name for name in OUTBOUND_FIELDS if item.record_id.startswith(PREFIXES[name]))
            record = self._objects[sobject][item.record_id]
            parts.append(f"<Notification><Id>{item.notification_id}</Id>")
            parts.append(f'<sObject xsi:type="sf:{sobject}" xmlns:sf={quoteattr(SOBJECT)}>')
            for name in OUTBOUND_FIELDS[sobject]:
                value = record.get(name)
                if value is None:
                    continue  # null fields are left out of the message
                if isinstance(value, datetime):
                    text = sf_datetime(value).replace("+0000", "Z")
                elif isinstance(value, bool):
                    text = str(value).lower()
                elif isinstance(value, Decimal):
                    text = format(value, "f")
                else:
                    text = str(value)
                parts.append(f"<sf:{name}>{escape(text)}</sf:{name}>")
            parts.append("</sObject></Notification>")
        parts.extend(["</notifications>", "</soapenv:Body>", "</soapenv:Envelope>"])
        return "".join(parts).encode()

    def _post(
        self, subscriber: _Subscriber, body: bytes, batch: list[PendingNotification]
    ) -> DeliveryAttempt:
        ids = tuple(item.notification_id for item in batch)
        # Salesforce waits 60 seconds for the acknowledgement.
        # https://help.salesforce.com/s/articleView?id=platform.workflow_om_considerations.htm&type=5
        try:
            with httpx.Client(transport=subscriber.transport, timeout=60.0) as client:
                response = client.post(
                    subscriber.url,
                    params={"token": subscriber.token},
                    content=body,
                    headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'},
                )
        except httpx.HTTPError as exc:
            return DeliveryAttempt(self._clock(), ids, None, False, f"{type(exc).__name__}: {exc}")
        acknowledged = response.status_code == 200 and self._is_ack(response.content)
        error = None if acknowledged else f"HTTP {response.status_code}: {response.text[:200]}"
        return DeliveryAttempt(self._clock(), ids, response.status_code, acknowledged, error)

    @staticmethod
    def _is_ack(body: bytes) -> bool:
        try:
            root: Element = SafeET.fromstring(body, forbid_dtd=True)
        except (ParseError, defusedxml.DefusedXmlException):
            return False
        ack = root.find(f"{{{SOAP_ENV}}}Body/{{{OUTBOUND}}}notificationsResponse/{{{OUTBOUND}}}Ack")
        return ack is not None and (ack.text or "").strip().lower() == "true"

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
        return (*SYSTEM_FIELDS, *merged, *names)

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
            return _number(value, name)
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
        if spec.kind == "picklist" and value not in spec.values:
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
        if sobject == "Account":
            clean = self._check_fields(sobject, fields, creating=True)
            now = self._clock()
        else:
            now = self._clock()
            clean = (
                self._check_fields(sobject, fields, creating=True)
                if sobject != "Pricebook2"
                else dict(fields)
            )
        record_id = self._ids.new(PREFIXES[sobject])
        record: dict[str, Any] = dict.fromkeys(self._object_fields(sobject))
        record.update(self._system_fields(record_id, now))
        if sobject == "Account" and self.multi_currency:
            record["CurrencyIsoCode"] = "USD"  # the corporate currency, the default of new records
        record.update(clean)
        if sobject == "Opportunity":
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
        record.update(clean)
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
        line["TotalPrice"] = (line["Quantity"] * line["UnitPrice"]).quantize(_SCALE)

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

    def _render_fields(self, sobject: str, record: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "attributes": {
                "type": sobject,
                "url": f"/services/data/v{self.api_version}/sobjects/{sobject}/{record['Id']}",
            }
        }
        for name in names:
            if "." in name:
                relationship, _, parent_field = name.partition(".")
                parent_id = record.get(PARENT_RELATIONSHIPS[(sobject, relationship)])
                target = OBJECT_FIELDS[sobject][PARENT_RELATIONSHIPS[(sobject, relationship)]].refers_to or ""
                parent = self._objects[target].get(parent_id) if parent_id else None
                if parent is None:
                    body[relationship] = None
                    continue
                nested = body.setdefault(
                    relationship,
                    {
                        "attributes": {
                            "type": target,
                            "url": f"/services/data/v{self.api_version}/sobjects/{target}/{parent_id}",
                        }
                    },
                )
                nested[parent_field] = _json_value(parent.get(parent_field))
            else:
                body[name] = _json_value(record.get(name))
        return body

    def _render_object(self, sobject: str, record_id: str, cursor: _Cursor) -> dict[str, Any]:
        record = self._objects[sobject][record_id]
        body = self._render_fields(sobject, record, cursor.fields)
        for sub in cursor.subqueries:
            child, parent_field = CHILD_RELATIONSHIPS[(sobject, sub.relationship)]
            rows = self._children(child, parent_field, record_id)
            if sub.order is not None:
                key = sub.order
                rows.sort(key=lambda r: (r.get(key) is None, r.get(key) or 0), reverse=sub.descending)
            if not rows:
                body[sub.relationship] = None  # an empty child relationship is null, not an empty result
                continue
            child_cursor = _Cursor(
                object_name=child,
                ids=[r["Id"] for r in rows],
                fields=sub.fields,
                batch=cursor.batch,
                last_used=self._clock(),
                version=cursor.version,
            )
            body[sub.relationship] = self._page(child_cursor, 0)
        return body

    def _parse_object_soql(self, sobject: str, match: re.Match[str], subqueries: list[str]) -> _Query:
        fields: list[str] = []
        subs: list[_Subquery] = []
        for raw in match["fields"].split(","):
            name = raw.strip()
            placeholder = re.fullmatch(r"__subquery(\d+)", name)
            if placeholder and sobject != "Account":
                subs.append(self._parse_subquery(sobject, subqueries[int(placeholder.group(1))]))
                continue
            fields.append(self._select_field(sobject, name))
        conditions = []
        if match["where"]:
            for part in re.split(r"\s+AND\s+", match["where"], flags=re.IGNORECASE):
                cond = _CONDITION.match(part)
                if cond is None:
                    raise _malformed(f"unexpected token in WHERE clause: '{part.strip()}'")
                known = self._object_field(sobject, cond["field"])
                if known is None:
                    raise SalesforceApiError(
                        400, "INVALID_FIELD", f"No such column '{cond['field']}' on entity '{sobject}'."
                    )
                value = _literal(cond["value"], known)
                spec = OBJECT_FIELDS[sobject].get(known)
                is_id = sobject != "Account" and (
                    known == "Id" or (spec is not None and spec.kind == "reference")
                )
                # SOQL matches a 15-character id to its 18-character form (Account filters compare as typed).
                if (
                    is_id
                    and isinstance(value, str)
                    and re.fullmatch(r"[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?", value)
                ):
                    value = to_18(value[:15])
                conditions.append(_Condition(known, cond["op"].upper(), value))
        order = None
        if match["order"]:
            order = self._object_field(sobject, match["order"])
            if order is None:
                raise SalesforceApiError(
                    400, "INVALID_FIELD", f"No such column '{match['order']}' on entity '{sobject}'."
                )
        return _Query(
            fields=tuple(fields),
            conditions=tuple(conditions),
            order=order,
            descending=(match["direction"] or "").upper() == "DESC",
            limit=int(match["limit"]) if match["limit"] else None,
            sobject=sobject,
            subqueries=tuple(subs),
        )

    def _select_field(self, sobject: str, name: str) -> str:
        # Account has no parent relationships here; a dotted name there is a malformed token.
        if "." in name and sobject != "Account":
            relationship, _, parent_field = name.partition(".")
            id_field = next(
                (
                    f
                    for (o, r), f in PARENT_RELATIONSHIPS.items()
                    if o == sobject and r.lower() == relationship.lower()
                ),
                None,
            )
            if id_field is None:
                raise SalesforceApiError(
                    400, "INVALID_FIELD", f"Didn't understand relationship '{relationship}' in field path."
                )
            target = OBJECT_FIELDS[sobject][id_field].refers_to or ""
            known_parent = self._object_field(target, parent_field)
            if known_parent is None:
                raise SalesforceApiError(
                    400, "INVALID_FIELD", f"No such column '{parent_field}' on entity '{target}'."
                )
            relationship_name = next(
                r for (o, r) in PARENT_RELATIONSHIPS if o == sobject and r.lower() == relationship.lower()
            )
            return f"{relationship_name}.{known_parent}"
        known = self._object_field(sobject, name)
        if known is None:
            if not re.fullmatch(r"\w+", name):
                raise _malformed(f"unexpected token: '{name}'")
            raise SalesforceApiError(400, "INVALID_FIELD", f"No such column '{name}' on entity '{sobject}'.")
        return known

    def _parse_subquery(self, sobject: str, text: str) -> _Subquery:
        found = _SUBQUERY.fullmatch(text.strip())
        if found is None:
            raise _malformed(f"unexpected token in subquery: {text[:80]!r}")
        relationship = next(
            (
                r
                for (o, r) in CHILD_RELATIONSHIPS
                if o == sobject and r.lower() == found["relationship"].lower()
            ),
            None,
        )
        if relationship is None:
            raise SalesforceApiError(
                400,
                "INVALID_TYPE",
                f"Didn't understand relationship '{found['relationship']}' in FROM part of query call.",
            )
        child, _ = CHILD_RELATIONSHIPS[(sobject, relationship)]
        fields = tuple(self._select_field(child, raw.strip()) for raw in found["fields"].split(","))
        order = None
        if found["order"]:
            order = self._object_field(child, found["order"])
            if order is None:
                raise SalesforceApiError(
                    400, "INVALID_FIELD", f"No such column '{found['order']}' on entity '{child}'."
                )
        return _Subquery(relationship, fields, order, (found["direction"] or "").upper() == "DESC")

    def _dispatch_object(self, endpoint: str, request: Request, args: dict[str, str]) -> Response:
        sobject = args["sobject"]
        # Account's fields are all text: its bodies are read as plain JSON.
        read_body = self._json_body if sobject == "Account" else self._json_body_exact
        if endpoint == "create":
            record_id = self._insert(sobject, read_body(request))
            return self._json({"id": record_id, "success": True, "errors": []}, status=201)
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
            return self._raw_json(self._render_fields(sobject, record, names))
        if request.method == "PATCH":
            self._change(sobject, record["Id"], read_body(request))
            return Response(status=204)
        self._delete(sobject, record)
        return Response(status=204)

    def _delete(self, sobject: str, record: dict[str, Any], *, master_id: str | None = None) -> None:
        """Into the recycle bin: IsDeleted, written to the delete log; no outbound message is sent.

        Outbound messages fire on create and edit only; a subscriber learns of deletes from the
        delete log (sObject Get Deleted) or queryAll.
        https://developer.salesforce.com/docs/platform/api-rest/guide/resources-getdeleted.html
        """
        now = self._clock()
        record["IsDeleted"] = True
        record["SystemModstamp"] = now
        if master_id is not None:
            record["MasterRecordId"] = master_id
        self._delete_log.append((sobject, record["Id"], now))
        if sobject == "OpportunityLineItem":
            self._after_write(sobject, record, now)

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
            return self._raw_json(self._render_fields(sobject, matches[0], self._object_fields(sobject)))
        body = self._json_body_exact(request)
        if any(name.lower() in {"id", known.lower()} for name in body):
            raise SalesforceApiError(
                400, "INVALID_FIELD", f"The Id or {known} field should not be specified in the sobject data."
            )
        if len(matches) > 1:
            urls = [f"/services/data/v{self.api_version}/sobjects/{sobject}/{r['Id']}" for r in matches]
            return self._json(urls, status=300)
        if matches:
            self._change(sobject, matches[0]["Id"], body)
            return self._json(
                {"id": matches[0]["Id"], "success": True, "errors": [], "created": False}, status=200
            )
        if request.args.get("updateOnly", "").lower() == "true":
            raise SalesforceApiError(404, "NOT_FOUND", "The requested resource does not exist")
        record_id = self._insert(sobject, {**body, known: value})
        return self._json({"id": record_id, "success": True, "errors": [], "created": True}, status=201)

    @staticmethod
    def _raw_json(body: Any, status: int = 200) -> Response:
        return Response(dumps(body), status=status, content_type="application/json;charset=UTF-8")

    @staticmethod
    def _json_body_exact(request: Request) -> dict[str, Any]:
        try:
            body = json.loads(request.get_data(as_text=True) or "null", parse_float=Decimal)
        except json.JSONDecodeError as exc:
            raise SalesforceApiError(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc.msg}") from exc
        if not isinstance(body, dict):
            raise SalesforceApiError(400, "JSON_PARSER_ERROR", "Expected a JSON object for the record")
        return body

    # --- plumbing ------------------------------------------------------------------------------

    @staticmethod
    def _json(body: Any, status: int = 200) -> Response:
        return Response(dumps(body), status=status, content_type="application/json;charset=UTF-8")

    def _error(self, error: SalesforceApiError) -> Response:
        return self._json(error.body(), status=error.status)

    @staticmethod
    def _json_body(request: Request) -> dict[str, Any]:
        try:
            body = json.loads(request.get_data(as_text=True) or "null")
        except json.JSONDecodeError as exc:
            raise SalesforceApiError(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc.msg}") from exc
        if not isinstance(body, dict):
            raise SalesforceApiError(400, "JSON_PARSER_ERROR", "Expected a JSON object for the record")
        return body
