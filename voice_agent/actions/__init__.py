"""What the AI agent's tools do in ERPNext (book an appointment, place an order, open a ticket), and the
pipeline every tool call goes through whichever channel asks (runner.py)."""
