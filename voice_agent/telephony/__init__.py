"""Calls from and to the desk through the call server. A call reaches the customer through a channel
(base.py; the browser invite link is the first, registry.py finds them from the hooks); the desk side
is the same for every channel: desk users join the call's room with a short-lived call token."""
