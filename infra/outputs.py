"""Which stack output feeds which app setting: one table used by the AWS deploy, the one-stack package and
the local runtime alike, so a new resource is wired in one place."""

from __future__ import annotations

SETTING_FOR_OUTPUT: dict[str, str] = {
    "MainTableName": "KALEXO_MAIN_TABLE",
    "ConnectionsTableName": "KALEXO_CONNECTIONS_TABLE",
    "OpsTableName": "KALEXO_OPS_TABLE",
    "EventsTableName": "KALEXO_EVENTS_TABLE",
    "DocumentsBucketName": "KALEXO_DOCUMENTS_BUCKET",
    "TilesBucketName": "KALEXO_TILES_BUCKET",
    "UploadsQueueName": "KALEXO_UPLOADS_QUEUE",
    "UploadsDeadLetterQueueName": "KALEXO_UPLOADS_DLQ",
    "TilesQueueName": "KALEXO_TILES_QUEUE",
    "TilesDeadLetterQueueName": "KALEXO_TILES_DLQ",
    "FanoutQueueName": "KALEXO_FANOUT_QUEUE",
}


def settings_from_outputs(outputs: dict[str, str]) -> dict[str, str]:
    missing = sorted(set(SETTING_FOR_OUTPUT) - set(outputs))
    if missing:
        raise KeyError(f"the stack has no output(s) {', '.join(missing)}")
    return {setting: outputs[output] for output, setting in SETTING_FOR_OUTPUT.items()}


def stack_name(stage: str) -> str:
    return f"kalexo-{stage}"
