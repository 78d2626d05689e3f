"""Plugins the integration test harness (tests/src/amqtt.rs) loads into amqtt.

amqtt's own AnonymousAuthPlugin marks every client it lets in as anonymous,
and amqtt keeps no session for an anonymous client once it disconnects: no
subscriptions and no queued messages, whatever its clean-session flag says.
The harness wants mosquitto's behaviour instead, so it lets every client in
with `AllowEveryClient`, which accepts without marking anyone anonymous.
"""

from dataclasses import dataclass
import logging

from amqtt.plugins.base import BaseAuthPlugin

logger = logging.getLogger(__name__)


class AllowEveryClient(BaseAuthPlugin):
    """Accepts every client, named or not, as an authenticated one, and logs
    each connect and disconnect with its client id (amqtt's own lines at the
    info level name only the address)."""

    async def authenticate(self, *, session) -> bool:
        return True

    async def on_broker_client_connected(self, *, client_id, client_session) -> None:
        logger.info(
            "client %s connected (clean session %s)",
            client_id,
            client_session.clean_session,
        )

    async def on_broker_client_disconnected(self, *, client_id, client_session) -> None:
        logger.info("client %s disconnected", client_id)

    @dataclass
    class Config:
        """Nothing to configure."""
