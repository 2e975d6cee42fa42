"""amqtt plugins that hand every decision to the simulator's realtime hub: who may connect
(the access token in the password or user name), what a client may subscribe to, and what
becomes of what it publishes. amqtt builds plugins from their dotted path with a config
dataclass, so they find their hub through the id in that config.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from amqtt.contexts import Action
from amqtt.plugins.base import BaseAuthPlugin, BasePlugin, BaseTopicPlugin
from amqtt.session import Session

if TYPE_CHECKING:
    from .hub import Hub

HUBS: dict[str, Hub] = {}


@dataclass
class HubConfig:
    hub: str = ""


class TokenAuth(BaseAuthPlugin):
    Config = HubConfig

    async def authenticate(self, *, session: Session) -> bool | None:
        return await HUBS[self.config.hub].authenticate(session)


class DeviceTopics(BaseTopicPlugin):
    """SUBSCRIBE: only the client's own devices and system topic. PUBLISH and RECEIVE: the
    broker relays nothing between clients; the hub answers uplink and delivers downlink."""

    Config = HubConfig

    async def topic_filtering(
        self, *, session: Session | None = None, topic: str | None = None, action: Action | None = None
    ) -> bool | None:
        if action is Action.SUBSCRIBE and session is not None and topic is not None:
            return await HUBS[self.config.hub].may_subscribe(session, topic)
        return False


class Events(BasePlugin):
    """What happened to a session, for the hub's bookkeeping and the journal."""

    Config = HubConfig

    async def on_broker_client_connected(self, *, client_id: str, client_session: Session) -> None:
        HUBS[self.config.hub].connected(client_session)

    async def on_broker_client_subscribed(self, *, client_id: str, topic: str, qos: int) -> None:
        HUBS[self.config.hub].suback_sent(client_id, topic)  # the subscription was live before

    async def on_broker_client_unsubscribed(self, *, client_id: str, topic: str) -> None:
        HUBS[self.config.hub].unsubscribed(client_id, topic)

    async def on_broker_message_received(self, *, client_id: str, message: Any) -> None:
        if message is not None:
            await HUBS[self.config.hub].uplink(client_id, message.topic, bytes(message.data or b""))
