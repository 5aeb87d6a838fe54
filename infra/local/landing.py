"""The wiring's buckets and landings created in moto, as the CDK creates them in AWS.

Per landing: the Glue database and a table per landed event type (infra/landing_spec.py), a
Firehose delivery stream per table with the same S3 destination the CDK renders, and an
EventBridge rule per event type whose target is its stream. moto stores the streams but delivers
nothing; the Firehose twin (infra/local/firehose.py) reads each stream's configuration back and
does what Firehose does with it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from infra.landing_spec import glue_table_input, s3_destination
from infra.local import firehose as local_firehose
from infra.wiring_model import Wiring

if TYPE_CHECKING:
    from infra.local.provision import Clients


@dataclass
class LandingResources:
    """Physical names of the buckets, Glue databases, streams and landing rules, by logical name."""

    buckets: dict[str, str] = field(default_factory=dict)  # logical bucket -> bucket name
    databases: dict[str, str] = field(default_factory=dict)  # landing -> Glue database
    streams: dict[str, str] = field(default_factory=dict)  # stream logical name -> delivery stream ARN
    rules: dict[str, str] = field(default_factory=dict)  # stream logical name -> rule ARN


def provision_landings(
    wiring: Wiring,
    *,
    clients: Clients,
    physical: dict[str, str],
    bus_name: str,
    function_arns: dict[str, str],
    account_id: str,
) -> LandingResources:
    """Create every bucket and landing of `wiring`; `physical` maps a logical bucket to its name."""
    found = LandingResources()
    # moto refuses to deliver to a Firehose target; the twin's patch lets rules have them.
    local_firehose.install()
    s3 = clients.s3()
    for bucket in wiring.buckets:
        name = physical[bucket.name]
        s3.create_bucket(Bucket=name)
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
        )
        found.buckets[bucket.name] = name
    glue = clients.glue()
    firehose = clients.firehose()
    events = clients.events()
    role = f"arn:aws:iam::{account_id}:role/{wiring.stack_name}-landing"
    for landing in wiring.landings:
        if landing.bucket not in found.buckets:
            raise ValueError(
                f"landing {landing.name!r} writes to bucket {landing.bucket!r}, which is not declared"
            )
        if landing.transform not in function_arns:
            raise ValueError(
                f"landing {landing.name!r}: transform {landing.transform!r} is not a declared function"
            )
        bucket_name = found.buckets[landing.bucket]
        glue.create_database(DatabaseInput={"Name": landing.database})
        found.databases[landing.name] = landing.database
        for stream in landing.streams:
            glue.create_table(
                DatabaseName=landing.database, TableInput=glue_table_input(landing, stream.table, bucket_name)
            )
            logical = landing.stream_name(stream.table)
            stream_name = f"{wiring.stack_name}-{logical}"
            destination = s3_destination(
                landing,
                stream.table,
                bucket_arn=f"arn:aws:s3:::{bucket_name}",
                role_arn=role,
                transform_arn=function_arns[landing.transform],
                database=landing.database,
                region=clients.region,
            )
            found.streams[logical] = firehose.create_delivery_stream(
                DeliveryStreamName=stream_name,
                DeliveryStreamType="DirectPut",
                ExtendedS3DestinationConfiguration=destination,
            )["DeliveryStreamARN"]
            pattern: dict[str, Any] = {"source": [landing.source], "detail-type": [stream.event_type]}
            found.rules[logical] = events.put_rule(
                Name=stream_name, EventBusName=bus_name, EventPattern=json.dumps(pattern), State="ENABLED"
            )["RuleArn"]
            events.put_targets(
                Rule=stream_name,
                EventBusName=bus_name,
                Targets=[{"Id": f"{logical}-stream", "Arn": found.streams[logical], "RoleArn": role}],
            )
    return found
