"""The wiring is coherent: handlers import, rules target declared queues, ASL placeholders exist."""

from __future__ import annotations

import importlib
import json
import re

import pytest

from infra.wiring import ACCOUNT_SWEEP, WIRING, with_sweep_interval
from infra.wiring_model import Access, ApiTrigger, QueueTrigger, ScheduleTrigger


@pytest.mark.parametrize("function", WIRING.functions, ids=lambda f: f.name)
def test_every_handler_path_imports_to_a_callable(function):
    module_name, _, attribute = function.handler.rpartition(".")
    module = importlib.import_module(module_name)
    assert callable(getattr(module, attribute))


def test_every_rule_targets_a_declared_queue_on_the_declared_bus():
    queues = {q.name for q in WIRING.queues}
    for rule in WIRING.rules:
        assert rule.queue in queues, rule.name
        assert rule.bus == WIRING.bus.name or WIRING.partner_bus(rule.bus) is not None, rule.name


def test_every_queue_trigger_reads_a_declared_queue_and_every_queue_has_a_consumer():
    queues = {q.name for q in WIRING.queues}
    triggered = {f.trigger.queue for f in WIRING.functions if isinstance(f.trigger, QueueTrigger)}
    # A function may drain a queue itself (the replay function, its replayed notices): no trigger.
    drained = {u.resource for f in WIRING.functions for u in f.uses if u.access is Access.CONSUME}
    assert triggered <= queues
    assert not triggered & drained, "a queue is either triggered or drained, not both"
    assert queues <= triggered | drained, "a queue nobody consumes loses messages"
    assert all(WIRING.drainer_of(q) is not None for q in drained)


def test_every_use_names_a_declared_resource():
    declared = {t.name for t in WIRING.tables} | {s.name for s in WIRING.secrets} | {WIRING.bus.name}
    declared |= {q.name for q in WIRING.queues} | {m.name for m in WIRING.state_machines}
    declared |= {t.name for t in WIRING.topics} | {r.name for r in WIRING.rules}
    for function in WIRING.functions:
        for use in function.uses:
            assert use.resource in declared, (function.name, use.resource)


@pytest.mark.parametrize("machine", WIRING.state_machines, ids=lambda m: m.name)
def test_every_asl_placeholder_is_declared_and_names_a_function(machine):
    text = machine.definition.read_text()
    json.loads(text)
    placeholders = set(re.findall(r"\$\{(\w+)\}", text))
    assert placeholders == set(machine.substitutions)
    names = {f.name for f in WIRING.functions}
    assert set(machine.substitutions.values()) <= names


def test_webhook_route_is_served_and_function_names_are_unique():
    routes = [r for f in WIRING.functions if isinstance(f.trigger, ApiTrigger) for r in f.trigger.routes]
    assert ("POST", "/webhooks/{provider}") in routes
    assert len({f.name for f in WIRING.functions}) == len(WIRING.functions)


def test_approval_routes_need_a_declared_user_pool_and_only_webhooks_are_open():
    pools = {p.name for p in WIRING.user_pools}
    for function in WIRING.functions:
        if not isinstance(function.trigger, ApiTrigger):
            continue
        paths = {path for _, path in function.trigger.routes}
        if all(path.startswith("/webhooks/") for path in paths):
            assert function.trigger.authorizer is None, function.name  # vendors sign the body instead
        else:
            assert function.trigger.authorizer in pools, function.name


def test_the_sweep_interval_is_the_deployments_choice_and_eventbridge_readable() -> None:
    # given the default wiring, when a deployment asks for a sweep every 5 minutes, or every minute
    every_five, every_one = with_sweep_interval(WIRING, 5), with_sweep_interval(WIRING, 1)
    # then only the sweep's schedule changes, in EventBridge's own words (singular for one)
    assert every_five.function(ACCOUNT_SWEEP).trigger == ScheduleTrigger("rate(5 minutes)")
    assert every_one.function(ACCOUNT_SWEEP).trigger == ScheduleTrigger("rate(1 minute)")
    assert WIRING.function(ACCOUNT_SWEEP).trigger == ScheduleTrigger("rate(15 minutes)")
    others = [f for f in every_five.functions if f.name != ACCOUNT_SWEEP]
    assert others == [f for f in WIRING.functions if f.name != ACCOUNT_SWEEP]
    # and an interval EventBridge or the vendors' feeds cannot take is refused, naming the setting
    with pytest.raises(ValueError, match="account_sweep_minutes"):
        with_sweep_interval(WIRING, 0)
