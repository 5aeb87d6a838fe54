"""Fault switches (the shared sandbox kit): a fault on one resource, and an answer lost after the write."""

from __future__ import annotations

from infra.local.sandboxes.salesforce import SalesforceSandbox
from tests.local.sandboxes.salesforce.docs_client import DocClient


def test_a_fault_on_one_path_leaves_the_other_resources_alone(client: DocClient, org: SalesforceSandbox):
    # Given the next call to /limits fails
    org.fail_next(1, 503, path="/limits")
    # Then a query still answers, /limits fails once with Salesforce's body, then answers again
    assert client.query("SELECT COUNT() FROM Account").status_code == 200
    failed = client.get("/limits")
    assert failed.status_code == 503 and failed.json()[0]["errorCode"] == "SERVER_UNAVAILABLE"
    assert client.get("/limits").status_code == 200


def test_an_answer_lost_after_the_write_leaves_the_record_created(client: DocClient, org: SalesforceSandbox):
    # Given the next create's answer is lost after the org committed it
    org.fail_next(1, 504, path="/sobjects/Account", after=True)
    # When a client creates an account
    response = client.create("Account", {"Name": "Committed anyway"})
    # Then the client sees the failure, yet the account exists (a blind retry would make two)
    assert response.status_code == 504
    assert client.query("SELECT COUNT() FROM Account").json()["totalSize"] == 1
