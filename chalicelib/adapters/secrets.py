"""Where the token signing secret comes from: the setting itself, or an SSM SecureString parameter."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.settings import Settings, SettingsError

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient


def signing_secret(settings: Settings, ssm: SSMClient | None) -> str:
    if settings.jwt_secret:
        return settings.jwt_secret
    if settings.jwt_secret_parameter and ssm is not None:
        parameter = ssm.get_parameter(Name=settings.jwt_secret_parameter, WithDecryption=True)
        return parameter["Parameter"]["Value"]
    raise SettingsError("set KALEXO_JWT_SECRET or KALEXO_JWT_SECRET_PARAMETER")
