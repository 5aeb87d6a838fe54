"""Routing: every posting has exactly one accounting system at its date; cutovers and their shadow."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from shared.domain.models import SystemName
from shared.domain.systems import SYSTEMS, Domain
from shared.governance.loader import LandscapeInvalid, parse_landscape
from shared.governance.routing import Routing
from tests.governance.conftest import edited

XERO = (
    '[[systems]]\nname = "quickbooks"',
    '[[systems]]\nname = "xero"\nrole = "accounting"\n\n[[systems]]\nname = "quickbooks"',
)
UK_ROUTE = 'legal_entity = "UK01"\nsystem = "quickbooks"\n'


def _route(system: str, from_date: str | None = None, shadow_from: str | None = None) -> str:
    """One more [[routing]] entry of UK01."""
    lines = ["", "[[routing]]", 'legal_entity = "UK01"', f'system = "{system}"']
    lines += [f"from_date = {from_date}"] if from_date else []
    lines += [f"shadow_from = {shadow_from}"] if shadow_from else []
    return "\n".join(lines) + "\n"


def _uk(routes: str) -> str:
    """The demo landscape with Xero connected and UK01's routing replaced by `routes`."""
    return edited(XERO, (UK_ROUTE, routes))


def _problems(text: str) -> str:
    with pytest.raises(LandscapeInvalid) as invalid:
        parse_landscape(text)
    return " | ".join(str(problem) for problem in invalid.value.problems)


def test_postings_go_to_the_system_routed_for_their_date_the_cutover_day_to_the_new_one() -> None:
    # given UK01 on a legacy Xero ledger until QuickBooks takes over on 1 July 2025
    routing = Routing(
        parse_landscape(
            _uk(
                UK_ROUTE.replace("quickbooks", "xero")
                + "\n[[routing]]\n"
                + UK_ROUTE
                + "from_date = 2025-07-01\n"
            )
        )
    )
    # then the day before the cutover is Xero's, the cutover day and after are QuickBooks'
    assert routing.system_for("UK01", date(2025, 6, 30)) is SystemName.XERO
    assert routing.system_for("UK01", date(2025, 7, 1)) is SystemName.QUICKBOOKS
    # the first route covers every earlier date: no posting is left without a system
    assert routing.system_for("UK01", date(1999, 1, 1)) is SystemName.XERO
    assert routing.system_for("US01", date(2025, 6, 30)) is SystemName.QUICKBOOKS
    [cutover] = routing.cutovers("UK01")
    assert (cutover.old, cutover.new, cutover.on, cutover.shadow_from) == (
        SystemName.XERO,
        SystemName.QUICKBOOKS,
        date(2025, 7, 1),
        None,
    )
    assert routing.cutovers("US01") == []


def test_shadow_postings_run_from_shadow_from_up_to_the_day_before_the_cutover() -> None:
    # given QuickBooks until Xero takes over on 1 January 2027, shadowed from 1 December 2026
    text = _uk(UK_ROUTE + _route("xero", "2027-01-01", "2026-12-01"))
    routing = Routing(parse_landscape(text))
    # then postings of the shadow period go to QuickBooks and are also computed for Xero
    assert routing.system_for("UK01", date(2026, 12, 31)) is SystemName.QUICKBOOKS
    assert routing.shadow_for("UK01", date(2026, 12, 1)) is SystemName.XERO
    assert routing.shadow_for("UK01", date(2026, 12, 31)) is SystemName.XERO
    # and outside it nothing is shadowed: before it, and from the cutover on (Xero takes them itself)
    assert routing.shadow_for("UK01", date(2026, 11, 30)) is None
    assert routing.shadow_for("UK01", date(2027, 1, 1)) is None
    assert routing.system_for("UK01", date(2027, 1, 1)) is SystemName.XERO


def test_routing_that_leaves_an_entity_without_a_system_before_its_first_date_is_refused() -> None:
    # given UK01's only route starting on 1 January 2024
    problems = _problems(_uk(UK_ROUTE + "from_date = 2024-01-01\n"))
    # then the landscape says which entity and which dates have no system, and how to fix it
    assert "no system takes postings of UK01 before 2024-01-01" in problems
    assert "without a from_date" in problems


def test_routing_that_names_two_systems_for_one_date_is_refused() -> None:
    # given two open routes for UK01, then two routes from the same day
    open_twice = _problems(_uk(UK_ROUTE + '\n[[routing]]\nlegal_entity = "UK01"\nsystem = "xero"\n'))
    same_day = _problems(
        _uk(
            UK_ROUTE
            + '\n[[routing]]\nlegal_entity = "UK01"\nsystem = "xero"\nfrom_date = 2027-01-01\n'
            + '\n[[routing]]\nlegal_entity = "UK01"\nsystem = "quickbooks"\nfrom_date = 2027-01-01\n'
        )
    )
    assert "two routes for UK01 without a from_date" in open_twice
    assert "two routes for UK01 from 2027-01-01" in same_day


def test_a_shadow_period_must_end_at_its_cutover() -> None:
    problems = _problems(_uk(UK_ROUTE + _route("xero", "2027-01-01", "2027-02-01")))
    assert "shadow_from 2027-02-01 must come before the route's from_date" in problems


def test_a_route_to_a_ledger_whose_connector_takes_no_postings_yet_is_refused_by_name(monkeypatch) -> None:
    # given a ledger whose connector holds the customer master only (as NetSuite's once did)
    partial = dataclasses.replace(SYSTEMS[SystemName.NETSUITE], holds=frozenset({Domain.CUSTOMER}))
    monkeypatch.setitem(SYSTEMS, SystemName.NETSUITE, partial)
    netsuite = (
        '[[systems]]\nname = "quickbooks"',
        '[[systems]]\nname = "netsuite"\nrole = "accounting"\n\n[[systems]]\nname = "quickbooks"',
    )
    route = ('legal_entity = "US01"\nsystem = "quickbooks"\n', 'legal_entity = "US01"\nsystem = "netsuite"\n')
    # when US01 is routed to it, the landscape says it cannot take postings yet, and what it holds
    problems = _problems(edited(netsuite, route))
    assert "netsuite cannot take postings in close2cash yet (its connector holds customer)" in problems
    # while connecting it for the customer master alone is valid
    parse_landscape(edited(netsuite))


def test_netsuite_takes_postings_now() -> None:
    netsuite = (
        '[[systems]]\nname = "quickbooks"',
        '[[systems]]\nname = "netsuite"\nrole = "accounting"\n\n[[systems]]\nname = "quickbooks"',
    )
    route = ('legal_entity = "US01"\nsystem = "quickbooks"\n', 'legal_entity = "US01"\nsystem = "netsuite"\n')
    routing = Routing(parse_landscape(edited(netsuite, route)))
    assert routing.system_for("US01", date(2026, 12, 1)) is SystemName.NETSUITE
