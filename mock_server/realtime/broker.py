"""amqtt's broker, with the simulator's hub told of a granted subscription inside amqtt's own
step, before the SUBACK: amqtt tells its plugins only after the SUBACK has gone out, and
through a task of their own, so a message published the moment the client had the SUBACK
could find no subscription yet and reach no one. It also reports each SUBSCRIBE and
UNSUBSCRIBE handled, for the publishes taken out of the stream behind them (transport.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from amqtt.broker import AMQTT_MAGIC_VALUE_RET_SUBSCRIBED as REFUSED
from amqtt.broker import Broker
from amqtt.session import Session

if TYPE_CHECKING:
    from .hub import Hub


class SimulatorBroker(Broker):
    def __init__(self, hub: Hub, config: dict, loop: Any) -> None:
        super().__init__(config, loop=loop)
        self.hub = hub

    async def add_subscription(self, subscription: tuple[str, int], session: Session) -> int:
        granted = await super().add_subscription(subscription, session)
        if granted != REFUSED and session.client_id:
            self.hub.subscribed(session.client_id, subscription[0], granted)
        return granted

    async def _handle_subscription(self, client_session: Session, *args: Any) -> None:
        try:
            await super()._handle_subscription(client_session, *args)
        finally:
            self.hub.settled(client_session.client_id or "")

    async def _handle_unsubscription(self, client_session: Session, *args: Any) -> None:
        try:
            await super()._handle_unsubscription(client_session, *args)
        finally:
            self.hub.settled(client_session.client_id or "")

    async def end_session(self, client_id: str) -> None:
        """Forget a connection's session once it has ended. Each connection has a session of
        its own (connections.py), so none is ever taken up again: amqtt would keep them all."""
        session, _ = self._sessions.pop(client_id, (None, None))
        if session is not None:
            await self._del_all_subscriptions(session)
            session.clear_queues()
