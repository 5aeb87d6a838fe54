"""`close2cash status` finds each resource by its wiring name, locally and as CloudFormation names it."""

from __future__ import annotations

from infra.status import find

LOCAL = ["close2cash-account-changes", "close2cash-account-changes-dlq", "close2cash-opportunity-changes"]
CLOUDFORMATION = [
    "close2cash-MessagingQueueaccountchanges5D1A2B3C-Xy7k2LmN0pQr",
    "close2cash-MessagingDlqaccountchanges9F8E7D6C-Ab1c2D3e4F5g",
    "close2cash-StateTableledger0A1B2C3D-1QW2E3R4T5Y6",
    "close2cash-StateTableidempotency4E5F6A7B-7U8I9O0P1A2S",
]


def test_a_queue_and_its_dead_letter_queue_are_told_apart_in_both_runtimes() -> None:
    assert find(LOCAL, "account-changes", dead_letter=False) == "close2cash-account-changes"
    assert find(LOCAL, "account-changes", dead_letter=True) == "close2cash-account-changes-dlq"
    assert find(CLOUDFORMATION, "account-changes", dead_letter=False) == CLOUDFORMATION[0]
    assert find(CLOUDFORMATION, "account-changes", dead_letter=True) == CLOUDFORMATION[1]


def test_a_table_is_found_by_its_wiring_name_and_an_ambiguous_name_finds_nothing() -> None:
    assert find(CLOUDFORMATION, "ledger") == CLOUDFORMATION[2]
    assert find(CLOUDFORMATION, "opportunity-changes") is None
    assert find([*LOCAL, "other-account-changes"], "account-changes", dead_letter=False) is None
