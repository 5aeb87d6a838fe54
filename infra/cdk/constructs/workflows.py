"""Workflows: Step Functions Standard state machines loaded from ASL files with ARN substitutions."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.wiring_model import Wiring


class Workflows(Construct):
    """One Standard state machine per wiring entry, logged (ALL, with data) and traced."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        wiring: Wiring,
        functions: Mapping[str, lambda_.IFunction],
    ) -> None:
        super().__init__(scope, construct_id)
        self.state_machines: dict[str, sfn.StateMachine] = {}
        for spec in wiring.state_machines:
            unknown = sorted(set(spec.substitutions.values()) - set(functions))
            if unknown:
                raise ValueError(f"state machine {spec.name} substitutes unknown functions {unknown}")
            log_group = logs.LogGroup(self, f"Logs-{spec.name}", retention=logs.RetentionDays.ONE_MONTH)
            machine = sfn.StateMachine(
                self,
                f"StateMachine-{spec.name}",
                definition_body=sfn.DefinitionBody.from_file(str(spec.definition)),
                # CloudFormation rejects an empty DefinitionSubstitutions map, so none is rendered then.
                definition_substitutions={
                    placeholder: functions[fn_name].function_arn
                    for placeholder, fn_name in spec.substitutions.items()
                }
                or None,
                state_machine_type=sfn.StateMachineType.STANDARD,
                tracing_enabled=True,
                logs=sfn.LogOptions(
                    destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True
                ),
            )
            # Invoke on exactly the substituted (unqualified) ARNs; grant_invoke would add `<arn>:*` for
            # every version and alias, which the ASL never calls.
            invoked = sorted(set(spec.substitutions.values()))
            if invoked:
                machine.add_to_role_policy(
                    iam.PolicyStatement(
                        actions=["lambda:InvokeFunction"],
                        resources=[functions[fn_name].function_arn for fn_name in invoked],
                    )
                )
            self.state_machines[spec.name] = machine
