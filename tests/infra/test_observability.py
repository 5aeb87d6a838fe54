"""Alarms on every failure signal go to one encrypted topic; the dashboard shows the business metrics."""

from __future__ import annotations

import json

import pytest

from infra.cdk.constructs.observability import ALARMED_BUSINESS_METRICS, API_REJECTIONS_PER_PERIOD
from infra.wiring import WIRING
from shared.domain.metrics import BusinessMetric

pytestmark = pytest.mark.infra


def _alarms(synth):
    return list(synth.of_type("AWS::CloudWatch::Alarm").values())


def _alarm_on(synth, namespace, metric, dimension_ref):
    return [
        a["Properties"]
        for a in _alarms(synth)
        if a["Properties"].get("Namespace") == namespace
        and a["Properties"].get("MetricName") == metric
        and dimension_ref in json.dumps(a["Properties"]["Dimensions"])
    ]


@pytest.mark.parametrize("spec", WIRING.queues, ids=lambda q: q.name)
def test_a_message_in_any_dlq_raises_an_alarm(synth, spec):
    dlq_id = synth.logical_id(synth.stack.messaging.dlqs[spec.name])
    [alarm] = _alarm_on(synth, "AWS/SQS", "ApproximateNumberOfMessagesVisible", dlq_id)
    assert alarm["Threshold"] == 0
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"


@pytest.mark.parametrize("spec", WIRING.queues, ids=lambda q: q.name)
def test_a_stuck_queue_raises_an_alarm(synth, spec):
    queue_id = synth.logical_id(synth.stack.messaging.queues[spec.name])
    assert _alarm_on(synth, "AWS/SQS", "ApproximateAgeOfOldestMessage", queue_id)


@pytest.mark.parametrize("spec", WIRING.functions, ids=lambda f: f.name)
def test_function_errors_raise_an_alarm(synth, spec):
    fn_id = synth.logical_id(synth.stack.functions.functions[spec.name])
    [alarm] = _alarm_on(synth, "AWS/Lambda", "Errors", fn_id)
    assert alarm["Threshold"] == 0


@pytest.mark.parametrize("spec", WIRING.state_machines, ids=lambda m: m.name)
def test_failed_workflows_raise_an_alarm(synth, spec):
    machine_id = synth.logical_id(synth.stack.workflows.state_machines[spec.name])
    assert _alarm_on(synth, "AWS/States", "ExecutionsFailed", machine_id)


def test_every_alarm_notifies_the_encrypted_alarm_topic(synth):
    topic_id = synth.logical_id(synth.stack.observability.topic)
    for alarm in _alarms(synth):
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]
    topic = synth.resources[topic_id]["Properties"]
    assert "KmsMasterKeyId" in topic


def _dashboard_widgets(synth) -> list[dict]:
    """The dashboard's widgets as CloudWatch reads them (the body's references left as placeholders)."""
    [dashboard] = synth.of_type("AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]
    if isinstance(body, dict):  # Fn::Join of text and references (log groups, queues, functions)
        [separator, parts] = body["Fn::Join"]
        body = separator.join(part if isinstance(part, str) else "REF" for part in parts)
    return list(json.loads(body)["widgets"])


def test_dashboard_draws_one_widget_per_business_metric_with_its_statistic(synth):
    # given the widgets of the synthesized dashboard
    searches: dict[str, list[str]] = {}
    for widget in _dashboard_widgets(synth):
        for line in widget["properties"].get("metrics", []):
            for options in line:
                if isinstance(options, dict) and "expression" in options:
                    searches.setdefault(widget["properties"].get("title", ""), []).append(
                        options["expression"]
                    )
    # then every business metric has its widget, searched in the close2cash namespace with the
    # statistic its member declares (a metric cannot be emitted and missing from the dashboard)
    for metric in BusinessMetric:
        assert searches.get(metric.value) == [
            f"SEARCH('Namespace=\"close2cash\" MetricName=\"{metric.value}\"', '{metric.statistic}', 300)"
        ], metric
    # and each exactly once, those the hand-kept lists had left out included
    titles = [w["properties"].get("title") for w in _dashboard_widgets(synth)]
    assert all(titles.count(metric.value) == 1 for metric in BusinessMetric)
    assert {"MessagesDeadLettered", "AmbiguousMatches", "SweepCapped", "ReplayWrites"} <= set(titles)


def test_api_5xx_and_a_spike_of_rejections_raise_alarms(synth):
    # given the API's name as API Gateway publishes its metrics under it
    api_name = synth.stack.api.rest_api.rest_api_name
    # then any 5xx alarms, and 4xx beyond a handful per period
    [server] = _alarm_on(synth, "AWS/ApiGateway", "5XXError", api_name)
    [client] = _alarm_on(synth, "AWS/ApiGateway", "4XXError", api_name)
    assert (server["Threshold"], server["Statistic"]) == (0, "Sum")
    assert (client["Threshold"], client["Statistic"]) == (API_REJECTIONS_PER_PERIOD, "Sum")
    assert server["ComparisonOperator"] == client["ComparisonOperator"] == "GreaterThanThreshold"
    # and both are on the dashboard
    [dashboard] = synth.of_type("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    assert "5XXError" in body and "4XXError" in body


@pytest.mark.parametrize("metric", sorted(ALARMED_BUSINESS_METRICS))
def test_a_business_event_that_needs_a_person_raises_an_alarm(synth, metric):
    # an invoice refused by accounting, a break nobody acted on: over every dimension set
    [alarm] = [
        a["Properties"]
        for a in _alarms(synth)
        if any(f"({metric})" in q.get("Expression", "") for q in a["Properties"].get("Metrics", []))
    ]
    function, threshold, _ = ALARMED_BUSINESS_METRICS[metric]
    [query] = alarm["Metrics"]
    assert query["Expression"] == f'SELECT {function}({metric}) FROM "close2cash"'  # noqa: S608
    assert query["Period"] == 300 and query["ReturnData"] is True
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (threshold, "GreaterThanThreshold")


def test_dashboard_shows_days_sales_outstanding_per_customer_from_every_function_log(synth):
    [dashboard] = synth.of_type("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    assert "latest(DaysSalesOutstanding.0) as DSO" in body and "by customer" in body
    for spec in WIRING.functions:
        assert synth.logical_id(synth.stack.functions.log_groups[spec.name]) in body, spec.name
