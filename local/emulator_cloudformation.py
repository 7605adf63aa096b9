"""Resource types of infra/template.yaml that moto 5.2's CloudFormation skips with a warning, made real in the
emulator so the deploy rehearsal can check what a deploy creates:

- `AWS::CloudWatch::Alarm` (moto's CloudWatch has alarms, its CloudFormation does not create them): created,
  updated and deleted with the stack through moto's own `PutMetricAlarm` and `DeleteAlarms`;
- list parameters described as CloudFormation describes them;
- an update that changes nothing refused with CloudFormation's "No updates are to be performed".

Local tooling only."""

from __future__ import annotations

from typing import Any

_REGISTERED: list[type] = []


def _alarm_arguments(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": properties["AlarmName"],
        "namespace": properties.get("Namespace"),
        "metric_name": properties.get("MetricName"),
        "comparison_operator": properties["ComparisonOperator"],
        "evaluation_periods": int(properties["EvaluationPeriods"]),
        "period": int(properties.get("Period", 60)),
        "threshold": float(properties.get("Threshold", 0)),
        "statistic": properties.get("Statistic"),
        "description": properties.get("AlarmDescription", ""),
        "dimensions": [{"Name": d["Name"], "Value": d["Value"]} for d in properties.get("Dimensions", [])],
        "alarm_actions": list(properties.get("AlarmActions", [])),
        "ok_actions": list(properties.get("OKActions", [])),
        "treat_missing_data": properties.get("TreatMissingData"),
    }


def install() -> None:
    from moto.cloudformation import parsing
    from moto.cloudwatch.models import cloudwatch_backends
    from moto.core.common_models import CloudFormationModel

    class CloudFormationAlarm(CloudFormationModel):
        def __init__(self, name: str) -> None:
            self.name = name

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::CloudWatch::Alarm"

        @staticmethod
        def cloudformation_name_type() -> str:
            return "AlarmName"

        @property
        def physical_resource_id(self) -> str:
            return self.name

        @classmethod
        def create_from_cloudformation_json(
                cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
                **kwargs: Any) -> CloudFormationAlarm:
            arguments = _alarm_arguments(cloudformation_json["Properties"])
            cloudwatch_backends[account_id][region_name].put_metric_alarm(**arguments)
            return cls(arguments["name"])

        @classmethod
        def update_from_cloudformation_json(
                cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str,
                region_name: str) -> CloudFormationAlarm:
            cls.delete_from_cloudformation_json(original_resource.name, cloudformation_json, account_id,
                                                region_name)
            return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id,
                                                       region_name)

        @classmethod
        def delete_from_cloudformation_json(
                cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str) -> None:
            # resource_name is the physical id, the alarm's name (the template's AlarmName is unresolved here).
            cloudwatch_backends[account_id][region_name].delete_alarms([resource_name])

    # Registered by being a subclass (a weak reference: kept alive here); moto's caches are built again with it.
    _REGISTERED.append(CloudFormationAlarm)
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()
    _list_parameters_as_cloudformation_does()
    _no_update_when_nothing_changes()


def _as_text(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def _no_update_when_nothing_changes() -> None:
    """CloudFormation answers an update with the same template and parameter values "No updates are to be
    performed". moto compares the given parameters with the stack's resolved ones, template defaults and
    typed values included, so they never match and every such update goes through."""
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.responses import CloudFormationResponse

    def _validate_different_update(self: Any, incoming_params: Any, stack_body: str, old_stack: Any) -> None:
        if not stack_body or old_stack.template != stack_body:
            return
        given = self._get_param_values(incoming_params or [], old_stack.stack_parameters)
        defaults = {key: slot.get("Default") for key, slot in old_stack.template_dict.get("Parameters", {}).items()}
        wanted = {key: _as_text(given.get(key, defaults.get(key))) for key in defaults}
        if wanted == {key: _as_text(value) for key, value in old_stack.stack_parameters.items() if key in defaults}:
            raise ValidationError(old_stack.name, message="No updates are to be performed.")

    CloudFormationResponse._validate_different_update = _validate_different_update  # type: ignore[method-assign]


def _list_parameters_as_cloudformation_does() -> None:
    """moto keeps a CommaDelimitedList parameter as a Python list and describes it as its repr
    (`['https://a']`); CloudFormation describes the comma-separated string it was given."""
    from moto.cloudformation.models import Stack

    original = Stack.parameter_list

    def parameter_list(self: Any) -> list[dict[str, Any]]:
        return [{**p, "ParameterValue": ",".join(map(str, p["ParameterValue"]))}
                if isinstance(p["ParameterValue"], list) else p for p in original.fget(self)]  # type: ignore[attr-defined]

    Stack.parameter_list = property(parameter_list)  # type: ignore[assignment,method-assign]
