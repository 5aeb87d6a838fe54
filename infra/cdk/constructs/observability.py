"""Observability: alarms on DLQs, queue age, function errors, workflows and the API; a dashboard."""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.cdk.constructs.functions import METRICS_NAMESPACE
from shared.domain.metrics import BusinessMetric

# A message older than this in a work queue means its consumer is failing or throttled: well past the
# longest consumer timeout times its redrive count, and well inside the queue's retention.
OLDEST_MESSAGE_ALARM = cdk.Duration.minutes(15)
PERIOD = cdk.Duration.minutes(5)
# Webhook failures are answers, not function errors: a 503 (our outage: the vendor redelivers, for a
# day at most) or a 4xx (a forged sender, or a vendor whose secret or token no longer matches ours:
# its notices are lost). Any 5xx alarms; 4xx alarm above a handful per period, since a single
# stale signature or a redelivery told "in flight" (409) is normal.
API_REJECTIONS_PER_PERIOD = 10
# Business signals that need a person: (Metrics Insights function, threshold, what to do). A Metrics
# Insights query aggregates over every dimension set (per system, per function), so no combination
# is missed. https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-metrics-insights-alarms.html
ALARMED_BUSINESS_METRICS: dict[BusinessMetric, tuple[str, float, str]] = {
    BusinessMetric.INVOICE_REJECTIONS: (
        "SUM",
        0,
        "An invoice was refused by accounting: `close2cash exceptions list`, fix, then "
        "`close2cash billing retry RUN`",
    ),
    # The nightly run reports the age of the oldest open break: past a day, a break outlived the
    # run after it, so nobody has acted on it.
    BusinessMetric.RECONCILIATION_BACKLOG_AGE: (
        "MAX",
        86400,
        "A reconciliation break has been open for more than a day: `close2cash exceptions list` "
        "(kind reconciliation) says what differs and what to do",
    ),
    # The landing's transform could not make a row of a record: Firehose kept it under the errors
    # prefix as it came; once the cause is fixed (an event of an unknown version), land it again.
    BusinessMetric.EVENTS_NOT_LANDED: (
        "SUM",
        0,
        "Domain events were not landed for analytics: they are kept under landing-errors/ in the "
        "analytics bucket; the analytics_land log says why",
    ),
}
# Days sales outstanding is emitted per customer with the customer as an EMF property, not a
# dimension (a metric per customer would be billed per customer); the dashboard reads the latest value
# of each from the functions' logs.
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CWL_QuerySyntax.html
DSO = BusinessMetric.DAYS_SALES_OUTSTANDING
DSO_QUERY = (
    f"filter ispresent({DSO}.0) and ispresent(customer)\n"
    f"| stats latest({DSO}.0) as DSO, latest(currency) as Currency by customer\n"
    "| sort DSO desc\n"
    "| limit 50"
)


class Observability(Construct):
    """An encrypted SNS alarm topic, one alarm per failure signal, and the close2cash dashboard."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        queues: Mapping[str, sqs.IQueue],
        dlqs: Mapping[str, sqs.IQueue],
        functions: Mapping[str, lambda_.IFunction],
        state_machines: Mapping[str, sfn.IStateMachine],
        log_groups: Mapping[str, logs.ILogGroup] | None = None,
        api: apigw.RestApi | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # CloudWatch cannot publish to a topic encrypted with the AWS managed aws/sns key, so the topic
        # gets a customer managed key whose policy lets CloudWatch use it.
        key = kms.Key(self, "AlarmKey", enable_key_rotation=True, description="close2cash alarm topic")
        key.grant(iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*")
        self.topic = sns.Topic(self, "AlarmTopic", master_key=key, enforce_ssl=True)
        action = cw_actions.SnsAction(self.topic)
        self.alarms: dict[str, cw.Alarm] = {}

        def alarm(name: str, metric: cw.IMetric, threshold: float, description: str) -> cw.Alarm:
            created = cw.Alarm(
                self,
                f"Alarm-{name}",
                metric=metric,
                threshold=threshold,
                evaluation_periods=1,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
                alarm_description=description,
            )
            created.add_alarm_action(action)
            self.alarms[name] = created
            return created

        for name, dlq in dlqs.items():
            alarm(
                f"dlq-{name}",
                dlq.metric_approximate_number_of_messages_visible(
                    period=cdk.Duration.minutes(1), statistic="Maximum"
                ),
                0,
                f"Messages in the DLQ of {name}: they need an operator (inspect, fix, redrive)",
            )
        for name, queue in queues.items():
            alarm(
                f"age-{name}",
                queue.metric_approximate_age_of_oldest_message(period=PERIOD, statistic="Maximum"),
                OLDEST_MESSAGE_ALARM.to_seconds(),
                f"Oldest message in {name} is older than {OLDEST_MESSAGE_ALARM.to_minutes()} minutes",
            )
        for name, fn in functions.items():
            alarm(
                f"errors-{name}",
                fn.metric_errors(period=PERIOD, statistic="Sum"),
                0,
                f"Function {name} raised errors",
            )
        for name, machine in state_machines.items():
            alarm(
                f"failed-{name}",
                machine.metric_failed(period=PERIOD, statistic="Sum"),
                0,
                f"Executions of workflow {name} failed",
            )

        for name, (function, threshold, description) in ALARMED_BUSINESS_METRICS.items():
            alarm(
                f"business-{name}",
                cw.MathExpression(
                    # Metrics Insights SQL over our own constant names, no input in it.
                    expression=f'SELECT {function}({name}) FROM "{METRICS_NAMESPACE}"',  # noqa: S608
                    label=name.value,
                    period=PERIOD,
                ),
                threshold,
                description,
            )

        api_metrics: list[cw.IMetric] = []
        if api is not None:
            server_errors = api.metric_server_error(period=PERIOD, statistic="Sum")
            rejections = api.metric_client_error(period=PERIOD, statistic="Sum")
            alarm(
                "api-5xx",
                server_errors,
                0,
                "The API answered 5xx: webhooks were not recorded (vendors redeliver, for a day at most)",
            )
            alarm(
                "api-rejections",
                rejections,
                API_REJECTIONS_PER_PERIOD,
                f"More than {API_REJECTIONS_PER_PERIOD} API requests refused in "
                f"{PERIOD.to_minutes()} minutes: a vendor's secret or token no longer matches, "
                "or someone is probing the webhooks",
            )
            api_metrics = [
                server_errors.with_(label="API 5xx (webhooks not recorded)"),
                rejections.with_(label="API 4xx (requests refused)"),
            ]

        self.dashboard = cw.Dashboard(self, "Dashboard", default_interval=cdk.Duration.hours(24))
        self.dashboard.add_widgets(
            cw.TextWidget(
                markdown="# close2cash\nBusiness metrics (EMF) and failure signals", width=24, height=2
            )
        )
        # One widget per business metric, in the order of the enumeration: a metric the hub emits
        # is on the dashboard by being emitted at all (the `Metrics` port takes only its members).
        self.dashboard.add_widgets(*(self._business_widget(metric) for metric in BusinessMetric))
        if log_groups:
            self.dashboard.add_widgets(
                cw.LogQueryWidget(
                    title="Days sales outstanding per customer (latest; open AR / 90 days' invoicing x 90)",
                    log_group_names=[group.log_group_name for group in log_groups.values()],
                    query_string=DSO_QUERY,
                    view=cw.LogQueryVisualizationType.TABLE,
                    width=24,
                )
            )
        self.dashboard.add_widgets(
            cw.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms.values()), width=24),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Function errors",
                left=[fn.metric_errors(period=PERIOD, label=name) for name, fn in functions.items()],
                width=8,
            ),
            cw.GraphWidget(
                title="Function duration p90",
                left=[
                    fn.metric_duration(period=PERIOD, statistic="p90", label=name)
                    for name, fn in functions.items()
                ],
                width=8,
            ),
            cw.GraphWidget(
                title="Queue depth (work + DLQ)",
                left=[
                    q.metric_approximate_number_of_messages_visible(period=PERIOD, label=name)
                    for name, q in queues.items()
                ],
                right=[
                    q.metric_approximate_number_of_messages_visible(period=PERIOD, label=f"{name} DLQ")
                    for name, q in dlqs.items()
                ],
                width=8,
            ),
            cw.GraphWidget(
                title="Workflows",
                left=[
                    m.metric_succeeded(period=PERIOD, label=f"{n} succeeded")
                    for n, m in state_machines.items()
                ],
                right=[
                    m.metric_failed(period=PERIOD, label=f"{n} failed") for n, m in state_machines.items()
                ],
                width=8,
            ),
        )
        if api_metrics:
            self.dashboard.add_widgets(
                cw.GraphWidget(title="API 5xx and rejections", left=api_metrics, width=8)
            )

    @staticmethod
    def _business_widget(metric: BusinessMetric) -> cw.GraphWidget:
        # Powertools adds a `service` dimension and handlers may add more (WebhookRejected is emitted per
        # `reason`), so a search expression draws one line per dimension set instead of guessing them.
        search = cw.MathExpression(
            expression=(
                f'SEARCH(\'Namespace="{METRICS_NAMESPACE}" MetricName="{metric}"\', '
                f"'{metric.statistic}', {int(PERIOD.to_seconds())})"
            ),
            using_metrics={},
            label=metric.value,
            period=PERIOD,
        )
        return cw.GraphWidget(title=metric.value, left=[search], width=8)
