"""Analytics landing in AWS: every domain event type lands through its own rule, stream and Glue table,
as Parquet in an encrypted, TLS-only bucket, and the semantic model's views exist in Athena."""

from __future__ import annotations

import dataclasses
import json

import aws_cdk as cdk
import pytest
from aws_cdk import CfnElement
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_

from infra.cdk.constructs.analytics import MAX_TRANSFORM_TIMEOUT_SECONDS, Analytics
from infra.cdk.constructs.athena import BYTES_SCANNED_CUTOFF, RESULTS_PREFIX
from infra.landing_spec import HIVE_TYPES
from infra.wiring import ANALYTICS, EVENTS_LANDING, WIRING
from infra.wiring_model import InvokeTrigger
from shared.analytics.rows import LANDED_TABLES
from shared.analytics.semantic import load_model

pytestmark = pytest.mark.infra

STREAMS = EVENTS_LANDING.streams


def _id(synth, construct):
    """Logical id of an L1 or (nested) L2 construct's CloudFormation resource."""
    element = construct
    while not isinstance(element, CfnElement):
        element = element.node.default_child
    return str(synth.stack.resolve(synth.stack.get_logical_id(element)))


def _landing(synth):
    return synth.stack.analytics.landings[EVENTS_LANDING.name]


def _props(synth, construct):
    return synth.resources[_id(synth, construct)]["Properties"]


def _joined(value):
    """A template string value with its tokens as `<LogicalId>` (an Fn::Join or a plain string)."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        _, parts = value["Fn::Join"]
        return "".join(_joined(part) for part in parts)
    if "Ref" in value:
        return f"<{value['Ref']}>"
    if "Fn::GetAtt" in value:
        return f"<{'.'.join(value['Fn::GetAtt'])}>"
    raise AssertionError(f"unexpected token {value}")


def test_every_domain_event_type_has_a_landed_stream():
    # given the event types the hub publishes, when the landing is declared, then none is left out
    assert {s.table for s in STREAMS} == set(LANDED_TABLES)
    assert {s.event_type for s in STREAMS} == {t.event_type for t in LANDED_TABLES.values()}


@pytest.mark.parametrize("stream", STREAMS, ids=lambda s: s.table)
def test_each_event_type_has_a_glue_table_with_every_column_and_projected_days(synth, stream):
    # given an event type's landed table
    table = LANDED_TABLES[stream.table]
    props = _props(synth, _landing(synth).tables[stream.table])
    table_input = props["TableInput"]
    bucket = _id(synth, synth.stack.analytics.buckets[ANALYTICS.name])
    # then Athena reads every column with its Hive type, in row order
    assert props["DatabaseName"] == EVENTS_LANDING.database
    assert table_input["Name"] == stream.table
    assert table_input["StorageDescriptor"]["Columns"] == [
        {"Name": c.name, "Type": HIVE_TYPES[c.type]} for c in table.columns
    ]
    assert {"Name": "event_id", "Type": "string"} in table_input["StorageDescriptor"]["Columns"]
    # as Parquet, under the table's own prefix
    storage = table_input["StorageDescriptor"]
    assert storage["SerdeInfo"]["SerializationLibrary"].endswith("ParquetHiveSerDe")
    assert storage["InputFormat"].endswith("MapredParquetInputFormat")
    assert storage["OutputFormat"].endswith("MapredParquetOutputFormat")
    location = f"s3://<{bucket}>/{EVENTS_LANDING.table_prefix(stream.table)}"
    assert _joined(storage["Location"]) == location
    # and a day's files are found without a crawler or MSCK REPAIR (partition projection on dt)
    assert table_input["PartitionKeys"] == [{"Name": "dt", "Type": "string"}]
    parameters = table_input["Parameters"]
    assert parameters["projection.enabled"] == "true"
    assert parameters["projection.dt.type"] == "date"
    assert parameters["projection.dt.format"] == "yyyy-MM-dd"
    assert parameters["projection.dt.range"].endswith(",NOW")
    assert _joined(parameters["storage.location.template"]) == f"{location}dt=${{dt}}/"


@pytest.mark.parametrize("stream", STREAMS, ids=lambda s: s.table)
def test_each_event_type_has_a_stream_that_transforms_partitions_and_writes_parquet_of_its_table(
    synth, stream
):
    landing = _landing(synth)
    props = _props(synth, landing.streams[stream.table])
    destination = props["ExtendedS3DestinationConfiguration"]
    transform = _id(synth, synth.stack.functions.functions[EVENTS_LANDING.transform])
    role = {"Fn::GetAtt": [_id(synth, landing.stream_roles[stream.table]), "Arn"]}
    # direct put (EventBridge), encrypted at rest
    assert props["DeliveryStreamType"] == "DirectPut"
    assert props["DeliveryStreamEncryptionConfigurationInput"] == {"KeyType": "AWS_OWNED_CMK"}
    # each buffer goes through the transform Lambda
    [processor] = destination["ProcessingConfiguration"]["Processors"]
    parameters = {p["ParameterName"]: p["ParameterValue"] for p in processor["Parameters"]}
    assert destination["ProcessingConfiguration"]["Enabled"] is True
    assert processor["Type"] == "Lambda"
    assert parameters["LambdaArn"] == {"Fn::GetAtt": [transform, "Arn"]}
    assert {"BufferSizeInMBs", "BufferIntervalInSeconds"} <= set(parameters)
    # the day the transform gives each row is the dt= folder; what fails lands under the errors prefix
    assert destination["DynamicPartitioningConfiguration"]["Enabled"] is True
    assert (
        destination["Prefix"]
        == f"{EVENTS_LANDING.table_prefix(stream.table)}dt=!{{partitionKeyFromLambda:dt}}/"
    )
    assert destination["ErrorOutputPrefix"] == (
        f"{EVENTS_LANDING.errors_prefix}/{stream.table}/!{{firehose:error-output-type}}/!{{timestamp:yyyy-MM-dd}}/"
    )
    assert destination["BufferingHints"] == {
        "IntervalInSeconds": EVENTS_LANDING.buffer_seconds,
        "SizeInMBs": EVENTS_LANDING.buffer_mb,
    }
    assert destination["BufferingHints"]["SizeInMBs"] >= 64  # dynamic partitioning's minimum
    # rows (JSON) become Parquet with the schema of this stream's own Glue table
    conversion = destination["DataFormatConversionConfiguration"]
    assert conversion["Enabled"] is True
    assert conversion["InputFormatConfiguration"] == {"Deserializer": {"HiveJsonSerDe": {}}}
    assert conversion["OutputFormatConfiguration"] == {
        "Serializer": {"ParquetSerDe": {"Compression": "SNAPPY"}}
    }
    assert conversion["SchemaConfiguration"]["DatabaseName"] == EVENTS_LANDING.database
    assert conversion["SchemaConfiguration"]["TableName"] == stream.table
    assert conversion["SchemaConfiguration"]["RoleARN"] == role
    assert destination["RoleARN"] == role
    assert destination["BucketARN"] == {
        "Fn::GetAtt": [_id(synth, synth.stack.analytics.buckets[ANALYTICS.name]), "Arn"]
    }
    # delivery problems are logged to the stream's own log group
    assert destination["CloudWatchLoggingOptions"]["Enabled"] is True
    assert destination["CloudWatchLoggingOptions"]["LogGroupName"] == {
        "Ref": _id(synth, landing.log_groups[stream.table])
    }


def _statements(synth, role):
    # A role's statements: its inline policy, and the managed policies CDK splits off when the inline
    # one would pass IAM's size limit (a statement per view adds up).
    policies = [
        *synth.of_type("AWS::IAM::Policy").values(),
        *synth.of_type("AWS::IAM::ManagedPolicy").values(),
    ]
    return [
        s
        for p in policies
        if {"Ref": _id(synth, role)} in p["Properties"].get("Roles", [])
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]


def _actions(statement):
    actions = statement["Action"]
    return {actions} if isinstance(actions, str) else set(actions)


def _resources(statement):
    resources = statement["Resource"]
    return [_joined(r) for r in (resources if isinstance(resources, list) else [resources])]


@pytest.mark.parametrize("stream", STREAMS, ids=lambda s: s.table)
def test_a_stream_may_write_its_own_table_only_and_invoke_the_transform(synth, stream):
    landing = _landing(synth)
    statements = _statements(synth, landing.stream_roles[stream.table])
    bucket = _id(synth, synth.stack.analytics.buckets[ANALYTICS.name])
    transform = _id(synth, synth.stack.functions.functions[EVENTS_LANDING.transform])
    # objects: its table's prefix and its errors prefix, nothing else in the bucket
    [puts] = [s for s in statements if "s3:PutObject" in _actions(s)]
    assert sorted(_resources(puts)) == sorted(
        [
            f"<{bucket}.Arn>/{EVENTS_LANDING.table_prefix(stream.table)}*",
            f"<{bucket}.Arn>/{EVENTS_LANDING.errors_prefix}/{stream.table}/*",
        ]
    )
    # schema: its own Glue table
    [schema] = [s for s in statements if "glue:GetTableVersions" in _actions(s)]
    assert any(r.endswith(f":table/{EVENTS_LANDING.database}/{stream.table}") for r in _resources(schema))
    assert not any(r.endswith("/*") for r in _resources(schema))
    # the transform, by its ARN (Firehose invokes with this role; the function has no event source)
    [invoke] = [s for s in statements if "lambda:InvokeFunction" in _actions(s)]
    assert invoke["Resource"] == {"Fn::GetAtt": [transform, "Arn"]}
    assert not any("*" in a for s in statements for a in _actions(s))


def test_the_transform_has_no_event_source_of_its_own(synth):
    transform = {"Ref": _id(synth, synth.stack.functions.functions[EVENTS_LANDING.transform])}
    mappings = synth.of_type("AWS::Lambda::EventSourceMapping").values()
    assert all(m["Properties"]["FunctionName"] != transform for m in mappings)


@pytest.mark.parametrize("stream", STREAMS, ids=lambda s: s.table)
def test_each_event_type_rule_puts_its_events_into_its_stream_keeping_failures(synth, stream):
    landing = _landing(synth)
    rule = _props(synth, landing.rules[stream.table])
    # given a domain event of this type on the hub's bus
    assert rule["EventBusName"] == {"Ref": _id(synth, synth.stack.messaging.bus)}
    assert rule["EventPattern"] == {"source": [EVENTS_LANDING.source], "detail-type": [stream.event_type]}
    # then it goes to this type's stream, and what EventBridge cannot deliver is kept in the DLQ
    [target] = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [_id(synth, landing.streams[stream.table]), "Arn"]}
    assert target["RoleArn"] == {"Fn::GetAtt": [_id(synth, landing.events_role), "Arn"]}
    assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": [_id(synth, landing.dlq), "Arn"]}
    # and EventBridge's role may put records into that stream
    [put] = [s for s in _statements(synth, landing.events_role) if "firehose:PutRecordBatch" in _actions(s)]
    assert {"Fn::GetAtt": [_id(synth, landing.streams[stream.table]), "Arn"]} in put["Resource"]


def test_only_the_landing_rules_may_send_to_the_landing_dlq_and_it_is_alarmed(synth):
    landing = _landing(synth)
    dlq = _id(synth, landing.dlq)
    [policy] = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in synth.of_type("AWS::SQS::QueuePolicy").values()
        if {"Ref": dlq} in p["Properties"]["Queues"]
    ]
    [allow] = [s for s in policy if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "events.amazonaws.com"}
    assert sorted(json.dumps(a) for a in allow["Condition"]["ArnEquals"]["aws:SourceArn"]) == sorted(
        json.dumps({"Fn::GetAtt": [_id(synth, r), "Arn"]}) for r in landing.rules.values()
    )
    alarms = synth.of_type("AWS::CloudWatch::Alarm").values()
    assert any(
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq, "QueueName"]}}
        in a["Properties"].get("Dimensions", [])
        for a in alarms
    ), "nobody hears of events that never landed"


def test_the_bucket_is_encrypted_private_tls_only_versioned_and_ages_as_declared(synth):
    bucket = synth.stack.analytics.buckets[ANALYTICS.name]
    props = _props(synth, bucket)
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    ]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    # who read or wrote what is in the access-log bucket
    assert props["LoggingConfiguration"]["DestinationBucketName"] == {
        "Ref": _id(synth, synth.stack.analytics.access_logs)
    }
    [age] = [r for r in props["LifecycleConfiguration"]["Rules"] if r["Id"] == "age"]
    assert age["Transitions"] == [
        {"StorageClass": "STANDARD_IA", "TransitionInDays": ANALYTICS.infrequent_access_after_days},
        {"StorageClass": "GLACIER_IR", "TransitionInDays": ANALYTICS.glacier_instant_after_days},
    ]
    assert age["NoncurrentVersionExpiration"] == {"NoncurrentDays": ANALYTICS.noncurrent_expire_days}
    [policy] = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in synth.of_type("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": _id(synth, bucket)}
    ]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in policy
    ), "bucket does not enforce TLS"


def test_athena_queries_run_in_a_workgroup_that_encrypts_results_and_caps_the_scan(synth):
    views = synth.stack.athena[EVENTS_LANDING.name]
    config = _props(synth, views.workgroup)["WorkGroupConfiguration"]
    bucket = _id(synth, synth.stack.analytics.buckets[ANALYTICS.name])
    assert config["EnforceWorkGroupConfiguration"] is True
    assert config["BytesScannedCutoffPerQuery"] == BYTES_SCANNED_CUTOFF
    assert config["EngineVersion"]["SelectedEngineVersion"] == "Athena engine version 3"
    result = config["ResultConfiguration"]
    assert _joined(result["OutputLocation"]) == f"s3://<{bucket}>/{RESULTS_PREFIX}"
    assert result["EncryptionConfiguration"] == {"EncryptionOption": "SSE_S3"}


def test_every_semantic_model_view_is_created_in_athena_at_deploy_time(synth):
    model = load_model()
    views = synth.stack.athena[EVENTS_LANDING.name]
    workgroup = _id(synth, views.workgroup)
    # given the model's views, then each has one custom resource and one named query, nothing more
    assert set(views.views) == set(model.view_names())
    assert len(synth.of_type("Custom::AthenaView")) == len(model.view_names())
    for name in model.view_names():
        props = _props(synth, views.views[name])
        create = json.loads(_joined(props["Create"]).replace(f"<{workgroup}>", "WG"))
        update = json.loads(_joined(props["Update"]).replace(f"<{workgroup}>", "WG"))
        delete = json.loads(_joined(props["Delete"]).replace(f"<{workgroup}>", "WG"))
        sql = model.create_view_sql(name, "athena")
        # when the stack deploys (or the view's SQL changes), its CREATE OR REPLACE VIEW runs in the workgroup
        assert create == update
        assert create["service"] == "Athena"
        assert create["action"] == "startQueryExecution"
        assert create["parameters"] == {
            "QueryString": sql,
            "QueryExecutionContext": {"Catalog": "AwsDataCatalog", "Database": EVENTS_LANDING.database},
            "WorkGroup": "WG",
        }
        # a changed SQL updates the view in place (same physical id), so nothing drops the new one
        assert create["physicalResourceId"] == {"id": name} == delete["physicalResourceId"]
        assert delete["parameters"]["QueryString"] == f"DROP VIEW IF EXISTS {name}"
        # the views wait for the tables they read
        depends = synth.resources[_id(synth, views.views[name])]["DependsOn"]
        assert {_id(synth, t) for t in _landing(synth).tables.values()} <= set(depends)
        # and the console lists the view's SQL as a named query
        synth.template.has_resource_properties(
            "AWS::Athena::NamedQuery",
            {
                "Name": name,
                "QueryString": sql,
                "Database": EVENTS_LANDING.database,
                "WorkGroup": {"Ref": workgroup},
            },
        )


def test_the_views_role_runs_ddl_in_its_workgroup_and_database_only(synth):
    views = synth.stack.athena[EVENTS_LANDING.name]
    statements = _statements(synth, views.role)
    [start] = [s for s in statements if "athena:StartQueryExecution" in _actions(s)]
    assert _resources(start) == [
        f"arn:<AWS::Partition>:athena:eu-west-1:<AWS::AccountId>:workgroup/<{_id(synth, views.workgroup)}>"
    ]
    [ddl] = [s for s in statements if "glue:CreateTable" in _actions(s)]
    tables = [r for r in _resources(ddl) if ":table/" in r]
    assert sorted(r.rsplit("/", 1)[1] for r in tables) == sorted(load_model().view_names())
    [results] = [s for s in statements if "s3:PutObject" in _actions(s)]
    bucket = _id(synth, synth.stack.analytics.buckets[ANALYTICS.name])
    assert _resources(results) == [f"<{bucket}.Arn>/{RESULTS_PREFIX}*"]


def test_the_stack_says_where_the_analytics_are(synth):
    outputs = synth.template.to_json()["Outputs"]
    assert outputs["AnalyticsBucketName"]["Value"] == {
        "Ref": _id(synth, synth.stack.analytics.buckets[ANALYTICS.name])
    }
    assert outputs["EventsAthenaWorkGroup"]["Value"] == {
        "Ref": _id(synth, synth.stack.athena[EVENTS_LANDING.name].workgroup)
    }


def test_the_wiring_declares_one_landing(synth):
    # the renderer loops over the wiring: a second landing would get its own streams and workgroup
    assert set(synth.stack.analytics.landings) == {landing.name for landing in WIRING.landings}


def _render_landing(wiring):
    """The Analytics construct alone, in a bare stack (no code asset to bundle)."""
    stack = cdk.Stack(cdk.App(), "landing")
    bus = events.EventBus(stack, "Bus")
    functions = {
        f.name: lambda_.Function.from_function_arn(
            stack, f"Fn-{f.name}", f"arn:aws:lambda:eu-west-1:111122223333:function:{f.name}"
        )
        for f in wiring.functions
    }
    return Analytics(stack, "Analytics", wiring=wiring, bus=bus, functions=functions)


def _with_transform(**changes):
    transform = dataclasses.replace(WIRING.function(EVENTS_LANDING.transform), **changes)
    return dataclasses.replace(
        WIRING, functions=tuple(transform if f.name == transform.name else f for f in WIRING.functions)
    )


def test_a_transform_slower_than_firehose_waits_is_refused_at_synth():
    # given a transform whose timeout is past the 5 minutes Firehose waits for it
    wiring = _with_transform(timeout_seconds=MAX_TRANSFORM_TIMEOUT_SECONDS + 1)
    # then the stack is not rendered (every buffer would otherwise time out into the errors prefix)
    with pytest.raises(ValueError, match="Firehose waits"):
        _render_landing(wiring)


def test_a_transform_without_the_landings_trigger_is_refused_at_synth():
    # given the landing's transform declared as an on-demand function instead
    wiring = _with_transform(trigger=InvokeTrigger())
    with pytest.raises(ValueError, match="TransformTrigger"):
        _render_landing(wiring)


def test_a_buffer_below_dynamic_partitionings_minimum_is_refused_at_synth():
    landing = dataclasses.replace(EVENTS_LANDING, buffer_mb=32)
    with pytest.raises(ValueError, match="buffer_mb"):
        _render_landing(dataclasses.replace(WIRING, landings=(landing,)))
