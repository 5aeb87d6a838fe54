"""Webhook figures on the local API: concurrent senders, identical deliveries at once, hostile input.

Each figure is measured on loopback through the local API front, as a vendor would send, and
returned for `make bench` to print and for tests/flows/test_webhook_robustness.py to hold to its goal.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

import httpx

from infra.local.environment import LocalEnvironment
from shared import bootstrap
from shared.domain.models import EntityType, SystemName
from shared.domain.notices import ChangeNotice, Operation

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND = "http://soap.sforce.com/2005/09/outbound"
SOBJECT = "urn:sobject.enterprise.soap.sforce.com"


def outbound_message(organization_id: str, notifications: list[tuple[str, str]], **fields: str) -> bytes:
    """A Salesforce outbound message with one Account notification per (notification id, account id).

    The shape of the notifications() call in the outbound messaging WSDL:
    https://developer.salesforce.com/docs/platform/api/guide/sforce-api-om-outboundmessaging-wsdl.html
    """
    items = "".join(
        f"<Notification><Id>{escape(nid)}</Id>"
        f'<sObject xsi:type="sf:Account" xmlns:sf="{SOBJECT}"><sf:Id>{escape(aid)}</sf:Id>'
        + "".join(f"<sf:{k}>{escape(v)}</sf:{k}>" for k, v in fields.items())
        + "</sObject></Notification>"
        for nid, aid in notifications
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
        f'<notifications xmlns="{OUTBOUND}"><OrganizationId>{organization_id}</OrganizationId>'
        f"{items}</notifications></soapenv:Body></soapenv:Envelope>"
    ).encode()


def salesforce_notice(env: LocalEnvironment, notification_id: str, account_id: str) -> ChangeNotice:
    """The notice the hub records for one outbound notification (to look it up in the ledger)."""
    return ChangeNotice(
        provider=SystemName.SALESFORCE,
        event_id=notification_id,
        entity=EntityType.ACCOUNT,
        vendor_type="Account",
        record_id=account_id,
        operation=Operation.CHANGED,
        realm=env.salesforce.organization_id,
    )


@contextmanager
def counting_publishes() -> Iterator[list[ChangeNotice]]:
    """Every notice the webhook function puts on the bus meanwhile."""
    publisher = bootstrap.services().publisher
    original: Callable[[list[ChangeNotice]], None] = publisher.publish
    published: list[ChangeNotice] = []
    lock = threading.Lock()

    def counted(notices: list[ChangeNotice]) -> None:
        original(notices)
        with lock:
            published.extend(notices)

    publisher.publish = counted  # type: ignore[method-assign]
    try:
        yield published
    finally:
        publisher.publish = original  # type: ignore[method-assign]


@dataclass
class SendersFigure:
    """Concurrent senders of valid and wrong-token notices: what was answered, what was recorded."""

    requests: int
    acknowledged: int  # valid notices answered 200
    recorded: int  # of those, the ones the ledger holds as published
    wrong_token_accepted: int  # wrong-token requests answered anything but 401
    statuses: Counter[int] = field(default_factory=Counter)


_run = itertools.count()


def concurrent_senders(env: LocalEnvironment, *, senders: int = 20, rounds: int = 5) -> SendersFigure:
    """`senders` threads, each sending `rounds` valid notices and as many with a wrong token."""
    run = next(_run)
    account_id = env.salesforce.put_account({"Name": f"Concurrency Check {run}"})
    env.salesforce.drop_pending(account_id)
    token = env.connections()["salesforce"]["webhook_token"]
    org = env.salesforce.organization_id
    url = f"{env.api_url}/webhooks/salesforce"

    def send(sender: int) -> list[tuple[str, str | None, int]]:
        answers: list[tuple[str, str | None, int]] = []
        with httpx.Client(timeout=30) as client:
            for n in range(rounds):
                nid = f"04lC{run:03d}S{sender:03d}N{n:03d}"
                body = outbound_message(org, [(nid, account_id)])
                for kind, presented in (("valid", token), ("wrong", token + "x")):
                    response = client.post(
                        url, params={"token": presented}, content=body, headers={"content-type": "text/xml"}
                    )
                    answers.append((kind, nid if kind == "valid" else None, response.status_code))
        return answers

    with ThreadPoolExecutor(max_workers=senders) as pool:
        answers = [a for batch in pool.map(send, range(senders)) for a in batch]
    ledger: Any = bootstrap.services().ledger
    acknowledged = [nid for kind, nid, status in answers if kind == "valid" and status == 200 and nid]
    recorded = [
        nid
        for nid in acknowledged
        if ledger.notice_status(salesforce_notice(env, nid, account_id)) == "published"
    ]
    return SendersFigure(
        requests=len(answers),
        acknowledged=len(acknowledged),
        recorded=len(recorded),
        wrong_token_accepted=sum(1 for kind, _, status in answers if kind == "wrong" and status != 401),
        statuses=Counter(status for _, _, status in answers),
    )


@dataclass
class IdenticalFigure:
    """One notice delivered by many requests at once: how often it reached the bus."""

    deliveries: int
    published: int
    statuses: Counter[int]
    after_redelivery: int  # the status a redelivery gets once the dust has settled


def identical_deliveries(env: LocalEnvironment, *, deliveries: int = 20) -> IdenticalFigure:
    """`deliveries` concurrent POSTs of one outbound message, then one more redelivery."""
    run = next(_run)
    account_id = env.salesforce.put_account({"Name": f"Identical Deliveries {run}"})
    env.salesforce.drop_pending(account_id)
    token = env.connections()["salesforce"]["webhook_token"]
    nid = f"04lI{run:03d}SAME"
    body = outbound_message(env.salesforce.organization_id, [(nid, account_id)])
    url = f"{env.api_url}/webhooks/salesforce"
    barrier = threading.Barrier(deliveries)

    def deliver(_: int) -> int:
        with httpx.Client(timeout=30) as client:
            barrier.wait()
            return client.post(
                url, params={"token": token}, content=body, headers={"content-type": "text/xml"}
            ).status_code

    with counting_publishes() as published, ThreadPoolExecutor(max_workers=deliveries) as pool:
        statuses = Counter(pool.map(deliver, range(deliveries)))
        again = httpx.post(
            url, params={"token": token}, content=body, headers={"content-type": "text/xml"}, timeout=30
        ).status_code
    return IdenticalFigure(
        deliveries=deliveries,
        published=sum(1 for n in published if n.event_id == nid),
        statuses=statuses,
        after_redelivery=again,
    )


@dataclass
class FuzzFigure:
    """Hostile requests, each provider: how they were answered, and whether a refusal enqueued anything."""

    sent: int
    statuses: Counter[int]
    answers: list[tuple[str, int]]  # (label, status) of every request
    five_xx: list[str]  # labels of the requests answered 5xx (goal: none)
    enqueued_by_rejects: list[str]  # labels of refused requests that still put notices on the bus


def _deep(depth: int, opener: str, closer: str) -> bytes:
    return (opener * depth + closer * depth).encode()


def hostile_requests(env: LocalEnvironment) -> list[tuple[str, str, dict[str, Any], bytes]]:
    """(label, path with query, headers, body): unauthenticated, unroutable and signed-but-odd input."""
    from shared.connectors.productive.webhooks import signature_header
    from shared.connectors.quickbooks.webhooks import sign

    token = env.connections()["salesforce"]["webhook_token"]
    org, realm = env.salesforce.organization_id, env.quickbooks.realm_id
    secret, verifier = env.productive.webhook_secret, env.quickbooks.verifier_token
    now = int(__import__("time").time())
    cases: list[tuple[str, str, dict[str, Any], bytes]] = []

    def qbo(label: str, body: bytes, signature: str | bytes | None = None) -> None:
        sig = sign(verifier, body) if signature is None else signature
        cases.append((f"quickbooks {label}", "/webhooks/quickbooks", {"intuit-signature": sig}, body))

    def productive(label: str, body: bytes, header: str | bytes | None = None) -> None:
        value = signature_header(secret, now, body) if header is None else header
        cases.append((f"productive {label}", "/webhooks/productive", {"Productive-Signature": value}, body))

    def salesforce(label: str, body: bytes, presented: str = token) -> None:
        cases.append(
            (
                f"salesforce {label}",
                f"/webhooks/salesforce?token={presented}",
                {"content-type": "text/xml"},
                body,
            )
        )

    def legacy(**entity: Any) -> bytes:
        fields = {"name": "Customer", "id": "1", "operation": "Update", "lastUpdated": "2026-01-01T00:00:00Z"}
        document = {
            "eventNotifications": [{"realmId": realm, "dataChangeEvent": {"entities": [fields | entity]}}]
        }
        return __import__("json").dumps(document).encode()

    def cloudevent(**fields: Any) -> bytes:
        item = {
            "specversion": "1.0",
            "id": "ce-1",
            "type": "qbo.customer.updated.v1",
            "time": "2026-01-01T00:00:00Z",
            "intuitentityid": "1",
            "intuitaccountid": realm,
        } | fields
        return __import__("json").dumps([item]).encode()

    def company(**attributes: Any) -> bytes:
        document = {
            "event": "update_company",
            "data": {"type": "companies", "id": "7", "attributes": attributes},
        }
        return __import__("json").dumps(document).encode()

    a_body = company(name="x")
    # --- signature and token headers (unauthenticated) ---
    productive("t=superscript two", a_body, "t=²,s=00".encode("latin-1"))
    productive("5,000-digit t", a_body, "t=" + "9" * 5000 + ",s=" + "0" * 64)
    productive("no s=", a_body, f"t={now}")
    productive(
        "upper-case hex",
        a_body,
        signature_header(secret, now, a_body).upper().replace("T=", "t=").replace("S=", "s="),
    )
    # Servers trim a header's ends (RFC 9110 5.5); what is inside is compared as sent.
    productive(
        "two spaces after the comma", a_body, signature_header(secret, now, a_body).replace(", ", ",  ")
    )
    productive("stale", a_body, signature_header(secret, now - 86_400, a_body))
    productive("far future", a_body, signature_header(secret, 9_999_999_999, a_body))
    qbo("forged", b'{"eventNotifications": []}', "forged")
    qbo("missing", b'{"eventNotifications": []}', "")
    qbo("non-ASCII signature", b"{}", ("é" * 44).encode("latin-1"))
    qbo("signature and a suffix", b"{}", sign(verifier, b"{}") + " x")
    msg = outbound_message(org, [("04lFUZZ0000000001", "001000000000001")])
    salesforce("wrong token", msg, token + "x")
    salesforce("no token", msg, "")
    salesforce("token with a trailing space", msg, token + "%20")
    salesforce("token with NUL", msg, token + "%00")
    # --- provider segments the router does not match ---
    for path in (
        "/webhooks/%F0%9F%92%A5",
        "/webhooks/salesforce%00",
        "/webhooks/QUICKBOOKS",
        "/webhooks/%2e%2e",
        "/webhooks/a%2Fb",
        "/webhooks/" + "x" * 3000,
    ):
        cases.append((f"path {path[:40]}", path, {}, b"{}"))
    # --- signed, odd bodies ---
    qbo("deep JSON array", _deep(100_000, "[", "]"))
    qbo("deep JSON object", ('{"a":' * 50_000 + "1" + "}" * 50_000).encode())
    qbo("legacy year 9999 west", legacy(lastUpdated="9999-12-31T23:59:59-23:59"))
    qbo("legacy offset +2399", legacy(lastUpdated="2026-12-31T23:59:59+2399"))
    qbo("legacy year 1 east", legacy(lastUpdated="0001-01-01T00:00:00+23:59"))
    qbo("cloudevent year 9999", cloudevent(time="9999-12-31T23:59:59-23:59"))
    qbo("cloudevent id of 600", cloudevent(id="x" * 600))
    qbo("cloudevent id non-ASCII", cloudevent(id="é" * 500, intuitaccountid="é" * 500))
    qbo("cloudevent entity id of 3000", cloudevent(intuitentityid="1" * 3000))
    qbo("legacy entity id of 3000", legacy(id="9" * 3000))
    qbo("legacy entity id with spaces", legacy(id="1 2"))
    qbo("not JSON", b"\xff\xfe{")
    qbo("JSON scalar", b"1e999999")
    qbo("eventNotifications not a list", b'{"eventNotifications": "x"}')
    qbo("cloudevent not an object", b"[1, null, []]")
    qbo("empty body", b"")
    productive("deep JSON", _deep(100_000, "[", "]"))
    productive(
        "deep JSON in attributes",
        (
            '{"data":{"type":"companies","id":"7","attributes":' + '{"a":' * 50_000 + "1" + "}" * 50_002
        ).encode(),
    )
    productive("year 9999 west", company(updated_at="9999-12-31T23:59:59-23:59"))
    productive("offset +2399", company(updated_at="2026-12-31T23:59:59+23:99"))
    productive(
        "company id of 3000",
        __import__("json").dumps({"data": {"type": "companies", "id": "7" * 3000}}).encode(),
    )
    productive("JSON array", b"[]")
    productive("invalid UTF-8", b'{"data": "\xff"}')
    salesforce("deep XML", b"<a>" * 50_000 + b"</a>" * 50_000)
    salesforce("notification id of 600", outbound_message(org, [("n" * 600, "001000000000001")]))
    salesforce("notification id non-ASCII", outbound_message(org, [("é" * 600, "001000000000001")]))
    salesforce(
        "year 9999 west",
        outbound_message(
            org, [("04lFUZZ0000000002", "001000000000001")], SystemModstamp="9999-12-31T23:59:59-23:59"
        ),
    )
    salesforce(
        "offset +2399",
        outbound_message(
            org, [("04lFUZZ0000000003", "001000000000001")], SystemModstamp="2026-12-31T23:59:59+23:99"
        ),
    )
    salesforce("DTD", b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>')
    salesforce("invalid UTF-8", b"\xff\xfe<a/>")
    salesforce(
        "100,001 notifications",
        outbound_message(org, [(f"04lMANY{n:09d}", "001000000000001") for n in range(101)]),
    )
    return cases


def fuzz(env: LocalEnvironment) -> FuzzFigure:
    """Send every hostile request once, one at a time, and check what each put on the bus."""
    statuses: Counter[int] = Counter()
    answers: list[tuple[str, int]] = []
    five_xx: list[str] = []
    enqueued: list[str] = []
    with httpx.Client(base_url=env.api_url, timeout=60) as client:
        for label, path, headers, body in hostile_requests(env):
            with counting_publishes() as published:
                status = client.post(path, headers=headers, content=body).status_code
            statuses[status] += 1
            answers.append((label, status))
            if status >= 500:
                five_xx.append(label)
            if status >= 400 and published:
                enqueued.append(label)
    return FuzzFigure(
        sent=sum(statuses.values()),
        statuses=statuses,
        answers=answers,
        five_xx=five_xx,
        enqueued_by_rejects=enqueued,
    )
