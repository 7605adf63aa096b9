"""Python client for Kalexo Teamwork: a live replica of a workspace over the websocket protocol
(`WorkspaceClient`, or `SyncWorkspaceClient` without asyncio), the REST API (`KalexoApi`) and the `kalexo`
command line. See README.md beside this package, and docs/protocol.md of the service."""

from kalexo_client.api import KalexoApi
from kalexo_client.client import WorkspaceClient
from kalexo_client.documents import upload_and_wait, wait_document
from kalexo_client.errors import (
    ApiError,
    ClientClosed,
    Failed,
    KalexoError,
    LocalRefusal,
    OpRefused,
    Refused,
    ServerError,
)
from kalexo_client.events import Backoff, EventStream
from kalexo_client.follow import follow_events
from kalexo_client.history import HistoryPage
from kalexo_client.models import (
    Closed,
    Connected,
    ConnectFailed,
    Disconnected,
    DocumentChanged,
    Event,
    Item,
    Op,
    OpApplied,
    OpRejected,
    PresenceChanged,
    PresenceEntry,
    Progress,
    Synced,
)
from kalexo_client.replica import Replica
from kalexo_client.sync import SyncWorkspaceClient
from kalexo_client.uploads import UploadResult

__version__ = "0.1.0"
__all__ = [
    "ApiError",
    "Backoff",
    "ClientClosed",
    "Closed",
    "ConnectFailed",
    "Connected",
    "Disconnected",
    "DocumentChanged",
    "Event",
    "EventStream",
    "Failed",
    "HistoryPage",
    "Item",
    "KalexoApi",
    "KalexoError",
    "LocalRefusal",
    "Op",
    "OpApplied",
    "OpRefused",
    "OpRejected",
    "PresenceChanged",
    "PresenceEntry",
    "Progress",
    "Refused",
    "Replica",
    "ServerError",
    "SyncWorkspaceClient",
    "Synced",
    "UploadResult",
    "WorkspaceClient",
    "__version__",
    "follow_events",
    "upload_and_wait",
    "wait_document",
]
