"""The AI agent's channel-independent logic (pure: never imports frappe): tool definitions and argument
checks, item matching for orders, appointment slots. Voice (Ultravox) and chat use the same tools."""
