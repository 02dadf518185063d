"""LLM providers for the chat bot (pure: no frappe import; tested by pytest without a site).

- ``base``: the neutral conversation (``UserTurn``, ``AssistantTurn``, ``ToolResultTurn``), the
  ``ToolCall``, ``Usage`` and ``ChatReply`` the loop works with, and the ``LLMClient`` protocol.
- ``errors``: ``LLMError`` and its subclasses (rate limited, overloaded, server error, timeout,
  connection, spend limit, auth, bad request...), each saying whether to retry and whether to fall
  back; the parsing of the providers' retry hints.
- ``openai_compat``: Chat Completions (OpenAI, Azure OpenAI, vLLM, Ollama, gateways).
- ``anthropic``: the Anthropic Messages API.
- ``retry``: ``call_with_retries`` (backoff with jitter within a deadline) and ``FallbackClient``.

The tools offered to the model come from ``voice_agent.agent.tools.TOOLS``, the same definitions
Ultravox gets (``voice_agent.integrations.ultravox.tools``). Keys are passed in by the Frappe glue
(from Password fields) and never appear in an exception, a repr or a log line.
"""

from voice_agent.integrations.llm.anthropic import AnthropicClient, anthropic_tools
from voice_agent.integrations.llm.base import (
    AssistantTurn,
    ChatReply,
    LLMClient,
    ProviderFailure,
    ToolCall,
    ToolResultTurn,
    Turn,
    Usage,
    UserTurn,
)
from voice_agent.integrations.llm.errors import (
    AuthError,
    BadRequestError,
    ContextLengthError,
    InvalidResponseError,
    LLMConnectionError,
    LLMError,
    LLMTimeoutError,
    ModelNotFoundError,
    OverloadedError,
    ProvidersExhaustedError,
    RateLimitError,
    ServerError,
    SpendLimitError,
)
from voice_agent.integrations.llm.openai_compat import OpenAICompatClient, openai_tools
from voice_agent.integrations.llm.retry import FallbackClient, call_with_retries

__all__ = [
    "AnthropicClient", "AssistantTurn", "AuthError", "BadRequestError", "ChatReply", "ContextLengthError",
    "FallbackClient", "InvalidResponseError", "LLMClient", "LLMConnectionError", "LLMError", "LLMTimeoutError",
    "ModelNotFoundError", "OpenAICompatClient", "OverloadedError", "ProviderFailure", "ProvidersExhaustedError",
    "RateLimitError", "ServerError", "SpendLimitError", "ToolCall", "ToolResultTurn", "Turn", "Usage", "UserTurn",
    "anthropic_tools", "call_with_retries", "openai_tools",
]
