"""The websocket functions' parts: admitting connections, the message router, and the fan-out queue's
consumer."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from chalicelib.composition.core import CoreParts

if TYPE_CHECKING:
    from collections.abc import Callable

    from chalicelib.domain.token_bucket import TokenBuckets
    from chalicelib.services.audience import Audiences
    from chalicelib.services.connections import ConnectionService
    from chalicelib.services.fanout import Fanout
    from chalicelib.services.fanout_overflow import FanoutChunks
    from chalicelib.services.presence import PresenceService
    from chalicelib.services.router import MessageRouter


class RealtimeParts(CoreParts):
    @cached_property
    def connections(self) -> ConnectionService:
        """For `$connect`: a connection opened in a workspace is counted into its audience."""
        return self._connection_service(self.audience_counter.note_audience_change)

    @cached_property
    def disconnections(self) -> ConnectionService:
        """For `$disconnect`: a departure is not counted (services/audience.py), so its function is granted no
        write to the op log."""
        return self._connection_service(None)

    def _connection_service(self, note_audience_change: Callable[[str], None] | None) -> ConnectionService:
        from chalicelib.services.connections import ConnectionService
        from chalicelib.services.presence import PresenceService

        # Uncached reads at connect: a connection lives for hours, so it must not be admitted on a grant
        # that another function instance revoked seconds ago.
        departure = None
        if self.notifier is not None:
            presence = PresenceService(self.fresh_access, self.connection_store, self.fanout(self.notifier))

            def departure(workspace: str, connection: str, user: str) -> None:
                presence.announce(workspace, connection, user, {"status": "offline"})
        return ConnectionService(self.fresh_access, self.connection_store, self.events, self.usage_meter, departure,
                                 self.auth_failures, note_audience_change)

    def presence(self, fanout: Fanout) -> PresenceService:
        from chalicelib.services.presence import PresenceService

        return PresenceService(self.fresh_access, self.connection_store, fanout, self.settings.presence_stale_seconds,
                               self.workspace_log.note_audience_change)

    @cached_property
    def audiences(self) -> Audiences:
        from chalicelib.services.audience import Audiences

        return Audiences(self.workspace_log, self.connection_store)

    def router(self, management_endpoint: str) -> MessageRouter:
        from chalicelib.services.fanout import OpPublisher
        from chalicelib.services.router import MessageRouter
        from chalicelib.services.sync import WorkspaceSync

        notifier = self.notifier_for(management_endpoint)
        fanout = self.fanout(notifier, management_endpoint)
        sync = WorkspaceSync(self.access, self.fresh_access, self.workspace_log, self.connection_store,
                             OpPublisher(fanout, self.connection_store), self.presence(fanout), self.audiences)
        return MessageRouter(notifier, self.connection_store, self.actor_of_connection, sync, self.message_budgets,
                             lambda account_id: self.tenancy.account(account_id) is not None)

    @cached_property
    def message_budgets(self) -> TokenBuckets:
        from chalicelib.domain.token_bucket import TokenBuckets

        rate = self.settings.messages_per_second
        return TokenBuckets(rate_per_s=rate, burst=int(rate * 2))

    @cached_property
    def fanout_chunks(self) -> FanoutChunks:
        from chalicelib.services.fanout import Fanout
        from chalicelib.services.fanout_overflow import FanoutChunks

        def fanout_for(endpoint: str) -> Fanout:
            # No overflow: a chunk is delivered, never re-queued.
            return Fanout(self.notifier_for(endpoint), self.connection_store)

        return FanoutChunks(fanout_for)
