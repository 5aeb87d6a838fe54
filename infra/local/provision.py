"""Creates the wiring's resources in moto through boto3, and says what each function's environment is."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3

from infra.local.landing import LandingResources, provision_landings
from infra.wiring_model import Access, QueueTrigger, ScheduleTrigger, Table, TransformTrigger, Wiring

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_stepfunctions import SFNClient

DEFAULT_REGION = "us-east-1"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
# Lambda's guidance: a source queue's visibility timeout at least 6x the function timeout, so a batch
# that is retried inside the function is not redelivered meanwhile.
# https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
VISIBILITY_FACTOR = 6
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


LOCAL_REPLAY_WAITS = {"REPLAY_RECEIVE_WAIT_SECONDS": "0", "REPLAY_POLL_SECONDS": "0.1"}


class ProvisionError(ValueError):
    """The wiring cannot be rendered as it stands (unknown resource, missing placeholder, env clash)."""


class Clients:
    """boto3 clients for moto: through the moto server's endpoint, or in-process under mock_aws."""

    def __init__(
        self,
        *,
        endpoint_url: str | None = None,
        region: str = DEFAULT_REGION,
        session: boto3.session.Session | None = None,
    ) -> None:
        self.endpoint_url = endpoint_url
        self.region = region
        self.session = session or boto3.session.Session(
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=region,
        )

    def _kwargs(self) -> dict[str, Any]:
        return {"region_name": self.region, "endpoint_url": self.endpoint_url}

    def dynamodb(self) -> DynamoDBClient:
        return self.session.client("dynamodb", **self._kwargs())

    def sqs(self) -> SQSClient:
        return self.session.client("sqs", **self._kwargs())

    def events(self) -> EventBridgeClient:
        return self.session.client("events", **self._kwargs())

    def secretsmanager(self) -> SecretsManagerClient:
        return self.session.client("secretsmanager", **self._kwargs())

    def lambda_(self) -> LambdaClient:
        return self.session.client("lambda", **self._kwargs())

    def stepfunctions(self) -> SFNClient:
        return self.session.client("stepfunctions", **self._kwargs())

    def sns(self) -> Any:
        # Typed Any: no mypy_boto3_sns stubs are pinned in this project.
        return self.session.client("sns", **self._kwargs())

    def iam(self) -> Any:
        return self.session.client("iam", **self._kwargs())

    def s3(self) -> Any:
        return self.session.client("s3", **self._kwargs())

    def glue(self) -> Any:
        return self.session.client("glue", **self._kwargs())

    def firehose(self) -> Any:
        return self.session.client("firehose", **self._kwargs())

    def cloudwatch(self) -> Any:
        # Typed Any: no mypy_boto3_cloudwatch stubs are pinned in this project.
        return self.session.client("cloudwatch", **self._kwargs())


@dataclass(frozen=True)
class QueueResource:
    """A provisioned queue and its DLQ."""

    name: str
    url: str
    arn: str
    dlq_url: str
    dlq_arn: str
    visibility_timeout: int
    max_receive_count: int


@dataclass
class Resources:
    """Physical names, URLs and ARNs of everything provision() created, keyed by logical name."""

    wiring: Wiring
    prefix: str
    region: str
    account_id: str
    endpoint_url: str | None
    tables: dict[str, str] = field(default_factory=dict)
    bus_name: str = ""
    bus_arn: str = ""
    archive_arn: str = ""
    queues: dict[str, QueueResource] = field(default_factory=dict)
    rules: dict[str, str] = field(default_factory=dict)  # logical -> rule ARN
    partner_buses: dict[str, str] = field(default_factory=dict)  # logical -> bus (= event source) name
    secrets: dict[str, str] = field(default_factory=dict)  # logical -> secret name
    secret_arns: dict[str, str] = field(default_factory=dict)
    functions: dict[str, str] = field(default_factory=dict)  # logical -> physical name
    function_arns: dict[str, str] = field(default_factory=dict)
    state_machines: dict[str, str] = field(default_factory=dict)  # logical -> ARN
    schedules: dict[str, str] = field(default_factory=dict)  # function -> schedule rule ARN
    topics: dict[str, str] = field(default_factory=dict)  # logical -> topic ARN
    landing: LandingResources = field(default_factory=LandingResources)

    def value_of(self, resource: str, access: Access | None = None) -> str:
        """The value a `Use` of logical `resource` puts in its env variable (name, URL or ARN)."""
        found: list[str] = []
        if resource in self.tables:
            found.append(self.tables[resource])
        if resource == self.wiring.bus.name:
            bus_values = {Access.REPLAY: self.archive_arn, Access.ARN: self.bus_arn}
            found.append(bus_values.get(access, self.bus_name) if access is not None else self.bus_name)
        if resource in self.rules:
            found.append(self.rules[resource])
        if resource in self.secrets:
            found.append(self.secrets[resource])
        if resource in self.queues:
            found.append(self.queues[resource].url)
        if resource in self.state_machines:
            found.append(self.state_machines[resource])
        if resource in self.topics:
            found.append(self.topics[resource])
        if resource in self.landing.buckets:
            found.append(self.landing.buckets[resource])
        if len(found) != 1:
            what = "no resource" if not found else "more than one resource"
            raise ProvisionError(f"{what} in the wiring is named {resource!r}")
        return found[0]

    def aws_env(self) -> dict[str, str]:
        """Region, fake credentials and (server mode) the moto endpoint every boto3 client picks up."""
        env = {"AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region, **FAKE_CREDENTIALS}
        if self.endpoint_url:
            env["AWS_ENDPOINT_URL"] = self.endpoint_url
        # moto replays an archive before StartReplay returns, its events already on their queue:
        # no long polling for stragglers (shared/aws/archive.py), which moto would wait in wall time.
        env.update(LOCAL_REPLAY_WAITS)
        return env

    def env(self, function: str | None = None) -> dict[str, str]:
        """Environment of one function (its `uses` + AWS settings), or the union over all functions.

        The union is what an in-process runtime must set once; two functions needing different values
        for one variable cannot share a process, so that is an error.
        """
        names = [function] if function is not None else [f.name for f in self.wiring.functions]
        env = self.aws_env()
        owner: dict[str, str] = {}
        for name in names:
            for use in self.wiring.function(name).uses:
                value = self.value_of(use.resource, use.access)
                if use.env in owner and env[use.env] != value:
                    raise ProvisionError(
                        f"{use.env} is {env[use.env]!r} for {owner[use.env]!r} but {value!r} for {name!r}; "
                        "functions sharing one process need one value per variable"
                    )
                env[use.env] = value
                owner.setdefault(use.env, name)
        return env


def physical_name(prefix: str, name: str) -> str:
    """`close2cash-ledger`; a name that already is the stack's (the bus "close2cash") stays as it is."""
    if name == prefix or name.startswith(f"{prefix}-"):
        return name
    return f"{prefix}-{name}"


def render_definition(text: str, values: Mapping[str, str]) -> str:
    """Replace each ${placeholder} like CDK's DefinitionSubstitutions; an unknown one is an error."""

    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise ProvisionError(f"state machine definition uses ${{{key}}} but the wiring does not set it")
        return values[key]

    return _PLACEHOLDER.sub(replace, text)


def _dummy_zip() -> bytes:
    # moto wants a code package; the code never runs there (moto_patches calls the handler in-process).
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "close2cash local runtime: handlers run in-process\n")
    return buffer.getvalue()


def _role_arn(clients: Clients, prefix: str, service: str) -> str:
    iam = clients.iam()
    name = f"{prefix}-{service.split('.')[0]}-role"
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }
    try:
        arn: str = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        arn = iam.get_role(RoleName=name)["Role"]["Arn"]
    return arn


def table_spec(table: Table) -> dict[str, Any]:
    """create_table's arguments for a wiring table: pk/sk strings, on demand, its declared indexes."""
    names = ["pk", "sk"]
    for index in table.indexes:
        names += [key for key in (index.partition_key, index.sort_key) if key and key not in names]
    spec: dict[str, Any] = {
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [{"AttributeName": key, "AttributeType": "S"} for key in names],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if table.indexes:
        spec["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index.name,
                "KeySchema": [
                    {"AttributeName": index.partition_key, "KeyType": "HASH"},
                    *([{"AttributeName": index.sort_key, "KeyType": "RANGE"}] if index.sort_key else []),
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY" if index.keys_only else "ALL"},
            }
            for index in table.indexes
        ]
    return spec


def provision(
    wiring: Wiring,
    *,
    clients: Clients,
    secrets: Mapping[str, Any] | None = None,
    prefix: str | None = None,
    partner_bus_names: Mapping[str, str] | None = None,
) -> Resources:
    """Create every table, queue (+DLQ), bus, rule, topic, secret, function and state machine of `wiring`.

    `secrets` maps a secret's logical name to its value (a str, or anything JSON-serialisable: the
    content of the local secrets file); a secret absent from it is created holding "{}".
    `partner_bus_names` maps a partner bus to its name (the vendor's partner event source name).
    """
    prefix = prefix or wiring.stack_name
    secrets = secrets or {}
    unknown = set(secrets) - {s.name for s in wiring.secrets}
    if unknown:
        raise ProvisionError(f"secrets file names secrets the wiring does not declare: {sorted(unknown)}")
    account_id = "123456789012"
    res = Resources(wiring, prefix, clients.region, account_id, clients.endpoint_url)

    dynamodb = clients.dynamodb()
    for table in wiring.tables:
        name = physical_name(prefix, table.name)
        dynamodb.create_table(TableName=name, **table_spec(table))
        if table.ttl_attribute:
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
            )
        res.tables[table.name] = name

    sqs = clients.sqs()
    for queue in wiring.queues:
        consumer = wiring.consumer_of(queue.name)
        visibility = max(30, VISIBILITY_FACTOR * consumer.timeout_seconds) if consumer else 30
        dlq_url = sqs.create_queue(
            QueueName=physical_name(prefix, queue.dlq_name),
            Attributes={"MessageRetentionPeriod": str(min(queue.dlq_retention_days, 14) * 86400)},
        )["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(queue.max_receive_count)}
        url = sqs.create_queue(
            QueueName=physical_name(prefix, queue.name),
            Attributes={"VisibilityTimeout": str(visibility), "RedrivePolicy": json.dumps(redrive)},
        )["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        res.queues[queue.name] = QueueResource(
            queue.name, url, arn, dlq_url, dlq_arn, visibility, queue.max_receive_count
        )
        account_id = arn.split(":")[4]
    res.account_id = account_id

    events = clients.events()
    res.bus_name = physical_name(prefix, wiring.bus.name)
    res.bus_arn = events.create_event_bus(Name=res.bus_name)["EventBusArn"]
    # As the CDK's Messaging construct: every event of this account, for replay.
    # https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateArchive.html
    res.archive_arn = events.create_archive(
        ArchiveName=physical_name(prefix, wiring.bus.archive)[:48],
        EventSourceArn=res.bus_arn,
        Description="Every notice published on the bus, for replay",
        EventPattern=json.dumps({"account": [account_id]}),
        RetentionDays=wiring.bus.archive_retention_days,
    )["ArchiveArn"]
    for partner in wiring.partner_buses:
        # In AWS the partner bus is named after the vendor's event source (aws.partner/...). moto 5.2
        # resolves a bus by the last "/"-segment of its name, so such a bus cannot be addressed here:
        # the local bus takes the source's name with "/" written as "." (what the context gives in AWS).
        source = (partner_bus_names or {}).get(partner.name) or f"aws.partner/local/{prefix}/{partner.name}"
        local_name = source.replace("/", ".")
        events.create_event_bus(Name=local_name, Description=partner.description)
        res.partner_buses[partner.name] = local_name
    for rule in wiring.rules:
        bus_name = res.bus_name if rule.bus == wiring.bus.name else res.partner_buses.get(rule.bus)
        if bus_name is None:
            raise ProvisionError(
                f"rule {rule.name!r} is on bus {rule.bus!r}, which the wiring does not declare"
            )
        if rule.queue not in res.queues:
            raise ProvisionError(
                f"rule {rule.name!r} targets queue {rule.queue!r}, which the wiring does not declare"
            )
        rule_name = physical_name(prefix, rule.name)
        res.rules[rule.name] = events.put_rule(
            Name=rule_name, EventBusName=bus_name, EventPattern=json.dumps(rule.pattern), State="ENABLED"
        )["RuleArn"]
        events.put_targets(
            Rule=rule_name,
            EventBusName=bus_name,
            Targets=[{"Id": f"{rule.queue}-queue", "Arn": res.queues[rule.queue].arn}],
        )

    for function in wiring.functions:
        if isinstance(function.trigger, ScheduleTrigger):
            # Listed for inspection (aws events list-rules); moto never fires it, the local scheduler does.
            res.schedules[function.name] = events.put_rule(
                Name=physical_name(prefix, f"{function.name.replace('_', '-')}-schedule"),
                ScheduleExpression=function.trigger.expression,
                State="ENABLED",
            )["RuleArn"]

    sns = clients.sns()
    for topic in wiring.topics:
        res.topics[topic.name] = sns.create_topic(
            Name=physical_name(prefix, topic.name), Attributes={"DisplayName": topic.description[:100]}
        )["TopicArn"]

    secretsmanager = clients.secretsmanager()
    for secret in wiring.secrets:
        value = secrets.get(secret.name, {})
        created = secretsmanager.create_secret(
            Name=physical_name(prefix, secret.name),
            Description=secret.description,
            SecretString=value if isinstance(value, str) else json.dumps(value),
        )
        res.secrets[secret.name] = created["Name"]
        res.secret_arns[secret.name] = created["ARN"]

    lambda_client = clients.lambda_()
    lambda_role = _role_arn(clients, prefix, "lambda.amazonaws.com")
    code = _dummy_zip()
    for function in wiring.functions:
        fn_name = physical_name(prefix, function.name.replace("_", "-"))
        created_fn = lambda_client.create_function(
            FunctionName=fn_name,
            Runtime="python3.12",
            Role=lambda_role,
            Handler=function.handler,
            Code={"ZipFile": code},
            Timeout=function.timeout_seconds,
            MemorySize=function.memory_mb,
            Description=function.description[:256],
            Architectures=["arm64"],
        )
        res.functions[function.name] = fn_name
        res.function_arns[function.name] = created_fn["FunctionArn"]

    res.landing = provision_landings(
        wiring,
        clients=clients,
        physical={b.name: physical_name(prefix, b.name) for b in wiring.buckets},
        bus_name=res.bus_name,
        function_arns=res.function_arns,
        account_id=account_id,
    )

    # Environments are set after every resource exists, because a function may use a state machine.
    sfn = clients.stepfunctions()
    sfn_role = _role_arn(clients, prefix, "states.amazonaws.com")
    for machine in wiring.state_machines:
        values = {}
        for placeholder, function_name in machine.substitutions.items():
            if function_name not in res.function_arns:
                raise ProvisionError(
                    f"state machine {machine.name!r}: ${{{placeholder}}} names function {function_name!r}, "
                    "which the wiring does not declare"
                )
            values[placeholder] = res.function_arns[function_name]
        definition = render_definition(machine.definition.read_text(encoding="utf-8"), values)
        res.state_machines[machine.name] = sfn.create_state_machine(
            name=physical_name(prefix, machine.name), definition=definition, roleArn=sfn_role, type="STANDARD"
        )["stateMachineArn"]

    for function in wiring.functions:
        lambda_client.update_function_configuration(
            FunctionName=res.functions[function.name], Environment={"Variables": res.env(function.name)}
        )
    _check_triggers(wiring, res)
    return res


def _check_triggers(wiring: Wiring, res: Resources) -> None:
    for function in wiring.functions:
        if isinstance(function.trigger, QueueTrigger) and function.trigger.queue not in res.queues:
            raise ProvisionError(
                f"function {function.name!r} is triggered by queue {function.trigger.queue!r}, "
                "which the wiring does not declare"
            )
        if isinstance(function.trigger, TransformTrigger) and function.trigger.landing not in {
            landing.name for landing in wiring.landings
        }:
            raise ProvisionError(
                f"function {function.name!r} transforms for landing {function.trigger.landing!r}, "
                "which the wiring does not declare"
            )
