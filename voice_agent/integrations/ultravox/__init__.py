"""Ultravox, the voice AI: REST client, webhook signatures and payloads, the agent's tools as Ultravox
HTTP tools (pure: client, signature, events, tools), and the Frappe glue (connect, calls, webhook,
tool_requests, api)."""
