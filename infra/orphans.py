"""What a stage's deploys left behind without a record: resources Chalice created before a deploy was killed
outright (SIGKILL, a host crash, a CI timeout), when not even infra/chalice_deploy.py could write down what it
had made. Chalice finds its functions again by name, but not its REST and websocket APIs or its SQS triggers:
the next deploy would create second ones (and AWS refuses a second trigger for a queue and function).

A resource belongs to a stage by what it points at, not by name alone (every stage's REST API is named after
the app): a REST API whose integrations invoke kalexo-<stage>, a websocket API named
kalexo-<stage>-websocket-api, and event source mappings whose function is one of the stage's. `make deploy`
removes them before a deploy that has no record; `make destroy` after `chalice delete`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _function_prefixes(stage: str) -> tuple[str, str]:
    return f":function:kalexo-{stage}-", f":function:kalexo-{stage}"


def is_stage_function(arn: str, stage: str) -> bool:
    within, rest_handler = _function_prefixes(stage)
    return within in arn or arn.endswith(rest_handler) or f"{rest_handler}/" in arn


def stage_rest_apis(apigateway: Any, stage: str, keep: set[str]) -> list[str]:
    """REST APIs (named after the app) whose integrations invoke this stage's REST function."""
    found = []
    for api in apigateway.get_rest_apis(limit=500).get("items", []):
        if api["id"] in keep or api.get("name") != "kalexo":
            continue
        resources = apigateway.get_resources(restApiId=api["id"], limit=500, embed=["methods"]).get("items", [])
        uris = [m.get("methodIntegration", {}).get("uri", "") for r in resources
                for m in r.get("resourceMethods", {}).values()]
        if any(is_stage_function(uri, stage) for uri in uris):
            found.append(api["id"])
    return found


def sweep(client: Callable[[str], Any], stage: str, record: dict[str, Any] | None,
          say: Callable[[str], None]) -> int:
    """Delete the stage's APIs and SQS triggers that `record` (Chalice's, or None) does not hold; how many."""
    resources = (record or {}).get("resources", [])
    keep_apis = {str(r.get(k)) for r in resources for k in ("rest_api_id", "websocket_api_id") if r.get(k)}
    keep_mappings = {str(r.get("event_uuid")) for r in resources if r.get("event_uuid")}
    lambda_client, apigateway, v2 = client("lambda"), client("apigateway"), client("apigatewayv2")
    removed = 0
    for mapping in lambda_client.list_event_source_mappings().get("EventSourceMappings", []):
        if is_stage_function(mapping.get("FunctionArn", ""), stage) and mapping["UUID"] not in keep_mappings:
            lambda_client.delete_event_source_mapping(UUID=mapping["UUID"])
            say(f"  removed an unrecorded SQS trigger {mapping['UUID']} ({mapping.get('EventSourceArn')})")
            removed += 1
    for api_id in stage_rest_apis(apigateway, stage, keep_apis):
        apigateway.delete_rest_api(restApiId=api_id)
        say(f"  removed an unrecorded REST API {api_id}")
        removed += 1
    for api in v2.get_apis().get("Items", []):
        if api.get("Name") == f"kalexo-{stage}-websocket-api" and api["ApiId"] not in keep_apis:
            v2.delete_api(ApiId=api["ApiId"])
            say(f"  removed an unrecorded websocket API {api['ApiId']}")
            removed += 1
    return removed


def sweep_functions(client: Callable[[str], Any], stage: str, say: Callable[[str], None]) -> int:
    """For `make destroy`: the stage's functions and their roles that no record held (Chalice's delete removes
    only what it recorded)."""
    lambda_client, iam = client("lambda"), client("iam")
    removed = 0
    for page in lambda_client.get_paginator("list_functions").paginate():
        for function in page.get("Functions", []):
            name = function["FunctionName"]
            if name == f"kalexo-{stage}" or name.startswith(f"kalexo-{stage}-"):
                lambda_client.delete_function(FunctionName=name)
                say(f"  removed an unrecorded function {name}")
                removed += 1
    for page in iam.get_paginator("list_roles").paginate():
        for role in page.get("Roles", []):
            if role["RoleName"].startswith(f"kalexo-{stage}-"):
                for policy in iam.list_role_policies(RoleName=role["RoleName"]).get("PolicyNames", []):
                    iam.delete_role_policy(RoleName=role["RoleName"], PolicyName=policy)
                iam.delete_role(RoleName=role["RoleName"])
                say(f"  removed an unrecorded role {role['RoleName']}")
                removed += 1
    return removed
