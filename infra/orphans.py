"""What a stage's deploys left behind without a record: resources Chalice created before a deploy was killed
outright (SIGKILL, a host crash, a CI timeout), when not even infra/chalice_deploy.py could write down what it
had made. Chalice finds its functions again by name, but not its REST and websocket APIs or its SQS triggers:
the next deploy would create second ones (and AWS refuses a second trigger for a queue and function).

A resource belongs to a stage by what it points at, not by name alone (every stage's REST API is named after
the app): a REST API whose integrations invoke kalexo-<stage>, a websocket API named
kalexo-<stage>-websocket-api, and event source mappings whose function is one of the stage's. `make deploy`
removes them before a deploy that has no record; `make destroy` after `chalice delete`.

A stage's functions and roles are matched by their exact names (kalexo-<stage> and kalexo-<stage>-<function>
for the functions the stage configures), never by prefix: stage names may hold hyphens, and stage prod's
prefix `kalexo-prod-` also begins every name of stage prod-eu.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from infra.stage_project import stage_config


def configured_functions(stage: str) -> list[str]:
    """The stage's function names in .chalice/config.json (a new stage takes the template stage's)."""
    return list(stage_config(stage)["stages"][stage].get("lambda_functions", {}))


def function_names(stage: str, functions: list[str] | None = None) -> set[str]:
    """Chalice's names for the stage's functions: the REST handler is kalexo-<stage>, the others
    kalexo-<stage>-<name>."""
    names = functions if functions is not None else configured_functions(stage)
    return {f"kalexo-{stage}"} | {f"kalexo-{stage}-{name}" for name in names if name != "api_handler"}


def role_names(stage: str, functions: list[str] | None = None) -> set[str]:
    """Chalice's roles for them: one per function with a policy file of its own, and the stage's shared one."""
    names = functions if functions is not None else configured_functions(stage)
    return {f"kalexo-{stage}"} | {f"kalexo-{stage}-{name}" for name in names}


def _function_of(arn: str) -> str:
    """The function's name in a function ARN or in an integration URI that holds one (…:function:NAME[:alias]/…)."""
    if ":function:" not in arn:
        return ""
    return arn.split(":function:", 1)[1].split("/", 1)[0].split(":", 1)[0]


def is_stage_function(arn: str, stage: str, functions: list[str] | None = None) -> bool:
    return _function_of(arn) in function_names(stage, functions)


def stage_rest_apis(apigateway: Any, stage: str, keep: set[str]) -> list[str]:
    """REST APIs (named after the app) whose integrations invoke this stage's REST function."""
    rest_handler = f"kalexo-{stage}"
    found = []
    for api in apigateway.get_rest_apis(limit=500).get("items", []):
        if api["id"] in keep or api.get("name") != "kalexo":
            continue
        resources = apigateway.get_resources(restApiId=api["id"], limit=500, embed=["methods"]).get("items", [])
        uris = [m.get("methodIntegration", {}).get("uri", "") for r in resources
                for m in r.get("resourceMethods", {}).values()]
        if any(_function_of(uri) == rest_handler for uri in uris):
            found.append(api["id"])
    return found


def sweep(client: Callable[[str], Any], stage: str, record: dict[str, Any] | None,
          say: Callable[[str], None], functions: list[str] | None = None) -> int:
    """Delete the stage's APIs and SQS triggers that `record` (Chalice's, or None) does not hold; how many.
    `functions`: the stage's function names (default: .chalice/config.json's)."""
    resources = (record or {}).get("resources", [])
    keep_apis = {str(r.get(k)) for r in resources for k in ("rest_api_id", "websocket_api_id") if r.get(k)}
    keep_mappings = {str(r.get("event_uuid")) for r in resources if r.get("event_uuid")}
    lambda_client, apigateway, v2 = client("lambda"), client("apigateway"), client("apigatewayv2")
    removed = 0
    for mapping in lambda_client.list_event_source_mappings().get("EventSourceMappings", []):
        if is_stage_function(mapping.get("FunctionArn", ""), stage, functions) and mapping["UUID"] not in keep_mappings:
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


def sweep_functions(client: Callable[[str], Any], stage: str, say: Callable[[str], None],
                    functions: list[str] | None = None) -> int:
    """For `make destroy`: the stage's functions and their roles that no record held (Chalice's delete removes
    only what it recorded)."""
    lambda_client, iam = client("lambda"), client("iam")
    ours, our_roles = function_names(stage, functions), role_names(stage, functions)
    removed = 0
    for page in lambda_client.get_paginator("list_functions").paginate():
        for function in page.get("Functions", []):
            name = function["FunctionName"]
            if name in ours:
                lambda_client.delete_function(FunctionName=name)
                say(f"  removed an unrecorded function {name}")
                removed += 1
    for page in iam.get_paginator("list_roles").paginate():
        for role in page.get("Roles", []):
            if role["RoleName"] in our_roles:
                for policy in iam.list_role_policies(RoleName=role["RoleName"]).get("PolicyNames", []):
                    iam.delete_role_policy(RoleName=role["RoleName"], PolicyName=policy)
                iam.delete_role(RoleName=role["RoleName"])
                say(f"  removed an unrecorded role {role['RoleName']}")
                removed += 1
    return removed
