"""The local runtime's EventBridge: a target's input as moto renders it, without a parser per event."""

from __future__ import annotations

from typing import Any

import pytest
from moto.events.utils import EventTemplateParser

from infra.local import moto_events


def _event(n: int) -> dict[str, Any]:
    return {
        "id": f"e-{n}",
        "time": 1_796_176_800.0,  # moto renders its events with POSIX times
        "version": "0",
        "detail-type": "account.changed",
        "source": "close2cash.webhooks",
        "account": "123456789012",
        "region": "us-east-1",
        "resources": [],
        "detail": {"record_id": f"001{n:03d}", "tags": ["a", "b"], "amount": 12.5},
        "ingestion-time": 1_796_176_801.0,
    }


def test_a_target_gets_what_moto_renders_with_each_path_compiled_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import jsonpath_ng.ext.parser as parser

    compiled: list[str] = []
    original = parser.parse
    monkeypatch.setattr(
        parser, "parse", lambda expression: compiled.append(expression) or original(expression)
    )
    moto_events._compiled.cache_clear()
    transformer = {"InputPathsMap": {"id": "$.detail.record_id"}, "InputTemplate": '{"record": "<id>"}'}
    # given 20 events rendered for the default input and for an input transformer
    for n in range(20):
        event = _event(n)
        # then each comes out as moto's own parser renders it
        assert moto_events.parse("", {}, event) == EventTemplateParser.parse("", {}, event)
        assert moto_events.parse(transformer["InputTemplate"], transformer["InputPathsMap"], event) == {
            "record": f"001{n:03d}"
        }
    # and each JSONPath was compiled once, not once per event (moto built 8 parsers per event)
    assert sorted(compiled) == sorted(
        {*EventTemplateParser.DEFAULT_EVENT_INPUT_PATHS_MAP.values(), "$.detail.record_id"}
    )
