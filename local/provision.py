"""Deploys infra/template.yaml into the emulator through CloudFormation, then applies what moto's
CloudFormation ignores (bucket versioning, notifications, CORS, public access block, lifecycle, ownership;
table TTL and point-in-time recovery; queue policies), read from the same template."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3

from local.reconcile import RECONCILERS, Clients
from local.template import StackContext, load_template, parameter_values

ACCOUNT_ID = "123456789012"  # moto's default account


@dataclass(frozen=True)
class Stack:
    name: str
    outputs: dict[str, str]
    context: StackContext


def deploy(session: boto3.session.Session, endpoint: str, stack_name: str,
           parameters: dict[str, str]) -> Stack:
    clients = Clients.create(session, endpoint)
    template = load_template()
    cfn = session.client("cloudformation", endpoint_url=endpoint)
    cfn.create_stack(
        StackName=stack_name,
        TemplateBody=json.dumps(template),
        # The emulator cannot create the CloudFront distribution; locally the runtime serves the site itself.
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in {"Cdn": "false", **parameters}.items()],
    )
    stack = _wait(lambda: cfn.describe_stacks(StackName=stack_name)["Stacks"][0])
    if stack["StackStatus"] != "CREATE_COMPLETE":
        raise RuntimeError(f"stack {stack_name}: {stack['StackStatus']} {stack.get('StackStatusReason', '')}")
    resources = cfn.describe_stack_resources(StackName=stack_name)["StackResources"]
    refs = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources if "LogicalResourceId" in r}
    context = StackContext(
        parameters=parameter_values(template, {"Cdn": "false", **parameters}),
        pseudo={"AWS::AccountId": ACCOUNT_ID, "AWS::Region": session.region_name or "us-east-1",
                "AWS::Partition": "aws", "AWS::StackName": stack_name},
        refs=refs,
        get_att=_attribute_reader(template, refs, clients),
    )
    for logical_id, resource in template["Resources"].items():
        reconcile = RECONCILERS.get(resource["Type"])
        if reconcile is not None:
            reconcile(clients, context, logical_id, context.resolve(resource.get("Properties", {})))
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    return Stack(name=stack_name, outputs=outputs, context=context)


def _wait(describe: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        stack = describe()
        if not stack["StackStatus"].endswith("IN_PROGRESS") or time.monotonic() > deadline:
            return stack
        time.sleep(0.2)


def _attribute_reader(template: dict[str, Any], refs: dict[str, str],
                      clients: Clients) -> Callable[[str, str], str]:
    def get_att(logical_id: str, attribute: str) -> str:
        kind = template["Resources"][logical_id]["Type"]
        physical = refs[logical_id]
        if kind == "AWS::SQS::Queue":
            if attribute == "Arn":
                attrs = clients.sqs.get_queue_attributes(QueueUrl=physical, AttributeNames=["QueueArn"])
                return str(attrs["Attributes"]["QueueArn"])
            if attribute == "QueueName":
                return physical.rsplit("/", 1)[-1]
        if kind == "AWS::S3::Bucket" and attribute == "Arn":
            return f"arn:aws:s3:::{physical}"
        if kind == "AWS::DynamoDB::Table" and attribute == "Arn":
            return str(clients.dynamodb.describe_table(TableName=physical)["Table"]["TableArn"])
        raise KeyError(f"Fn::GetAtt {logical_id}.{attribute} is not supported locally")

    return get_att
