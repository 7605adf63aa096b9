"""Reading the CloudFormation template and resolving the few intrinsic functions it uses.

moto's CloudFormation creates the resources but ignores some of their properties; the provisioner applies
those through the service APIs, and needs the property values with Ref, Fn::GetAtt, Fn::Sub resolved
against the stack that was actually created.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

TEMPLATE_PATH = Path(__file__).resolve().parent.parent / "infra" / "template.yaml"


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict) or "Resources" not in data:
        raise ValueError(f"{path} is not a CloudFormation template")
    return data


@dataclass(frozen=True)
class StackContext:
    """What intrinsics resolve against: parameters, pseudo parameters and the created resources."""

    parameters: Mapping[str, Any]
    pseudo: Mapping[str, str]
    refs: Mapping[str, str]  # logical id -> what Ref returns
    get_att: Callable[[str, str], str]

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (fn, arg), = value.items()
            if fn == "Ref":
                return self._ref(arg)
            if fn == "Fn::GetAtt":
                logical, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(logical, attribute)
            if fn == "Fn::Sub":
                return self._sub(arg)
            if fn == "Fn::Join":
                separator, parts = arg
                return separator.join(str(p) for p in self.resolve(parts))
        return {k: self.resolve(v) for k, v in value.items()}

    def _ref(self, name: str) -> Any:
        for source in (self.pseudo, self.parameters, self.refs):
            if name in source:
                return source[name]
        raise KeyError(f"cannot resolve Ref {name}")

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name:
                return str(self.get_att(*name.split(".", 1)))
            return str(self._ref(name))

        return re.sub(r"\$\{([^}!]+)\}", replace, text)


def parameter_values(template: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, spec in template.get("Parameters", {}).items():
        raw = overrides.get(name, spec.get("Default"))
        if spec.get("Type") == "CommaDelimitedList" and isinstance(raw, str):
            values[name] = [part.strip() for part in raw.split(",")]
        else:
            values[name] = raw
    return values
