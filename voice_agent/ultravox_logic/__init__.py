"""Pure logic of the Ultravox AI agent (no frappe import): tested with pytest in CI."""
