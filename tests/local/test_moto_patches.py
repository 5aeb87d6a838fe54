"""The moto internals the local runtime patches must exist; if moto moves them, this fails loudly."""

from __future__ import annotations

import moto
import pytest

from infra.local import moto_patches
from infra.local.moto_patches import (
    PINNED_MOTO_VERSION,
    HandlerImportError,
    Invoker,
    LambdaSpec,
    MotoInternalsMovedError,
    verify_moto_internals,
)


def test_installed_moto_is_the_pinned_version_and_has_every_patched_internal() -> None:
    assert moto.__version__ == PINNED_MOTO_VERSION, (
        f"moto {moto.__version__} is installed; infra/local/moto_patches.py patches internals of "
        f"{PINNED_MOTO_VERSION}: re-read moto's source and update MOTO_INTERNALS before bumping the pin"
    )
    verify_moto_internals()


def test_a_moved_internal_is_reported_with_the_moto_version(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.awslambda_simple.models import LambdaSimpleBackend

    # given moto no longer has the method we patch
    monkeypatch.delattr(LambdaSimpleBackend, "invoke")
    # then verifying (and so starting a runtime) fails, naming the internal and the versions
    with pytest.raises(MotoInternalsMovedError, match=r"LambdaSimpleBackend\.invoke") as raised:
        verify_moto_internals()
    assert PINNED_MOTO_VERSION in str(raised.value)


def test_install_and_uninstall_restore_moto() -> None:
    from moto.awslambda_simple.models import LambdaSimpleBackend

    from infra.local.clock import Clock

    original = LambdaSimpleBackend.invoke
    moto_patches.install(Invoker(()), Clock())
    try:
        assert LambdaSimpleBackend.invoke is not original
    finally:
        moto_patches.uninstall()
    assert LambdaSimpleBackend.invoke is original


def test_a_handler_that_cannot_be_imported_is_named_with_its_wiring_path() -> None:
    spec = LambdaSpec(
        "ghost",
        "c2c-ghost",
        "arn:aws:lambda:us-east-1:123456789012:function:c2c-ghost",
        "functions.does_not_exist.handler.handler",
        128,
        3,
    )
    invoker = Invoker([spec])
    with pytest.raises(HandlerImportError, match=r"'ghost'.*functions\.does_not_exist\.handler\.handler"):
        invoker.check()
    with pytest.raises(HandlerImportError):
        invoker.invoke("ghost", {})
    assert invoker.errors["ghost"] == 1


@pytest.mark.parametrize("fast_forward", [True, False])
def test_a_wait_for_a_rate_budget_slot_passes_on_the_runtime_clock(fast_forward: bool) -> None:
    import boto3
    from moto import mock_aws

    from infra.local.clock import Clock
    from infra.local.provision import table_spec
    from infra.wiring import LEDGER
    from shared.aws.budget import DynamoBudgets
    from shared.connectors.quickbooks.client import REALM_LIMITS

    # given the local runtime's clock patched in, and a realm budget whose slot for now is taken
    clock = Clock(fast_forward=fast_forward)
    moto_patches.install(Invoker(()), clock)
    try:
        with mock_aws():
            client = boto3.client("dynamodb", region_name="us-east-1")
            client.create_table(TableName=LEDGER.name, **table_spec(LEDGER))
            budget = DynamoBudgets(LEDGER.name, client=client).budget("quickbooks", "realm-1", REALM_LIMITS)
            assert budget.reserve(max_wait=30) == 0
            before = clock.offset_seconds
            # when the next caller takes a slot (Intuit's 10 a second: the next is 1/8 s away)
            wait = budget.reserve(max_wait=30)
    finally:
        moto_patches.uninstall()
    if fast_forward:
        # then a fast-forwarding runtime jumps its clock to the slot, and the caller need not sleep
        assert wait == 0
        assert clock.offset_seconds - before == pytest.approx(0.125, abs=0.05)
    else:
        # and one in real time leaves the wait to the caller, as in AWS
        assert wait == pytest.approx(0.125, abs=0.05)
        assert clock.offset_seconds == before
