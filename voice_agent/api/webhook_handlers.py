"""The Ultravox webhook at the address configured at Ultravox:
/api/method/voice_agent.api.webhook_handlers.ultravox_webhook (the endpoint lives with its provider)."""

from voice_agent.integrations.ultravox.api import ultravox_webhook

__all__ = ["ultravox_webhook"]
