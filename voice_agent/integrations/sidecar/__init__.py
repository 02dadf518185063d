"""The mediasoup sidecar (our call server): its HTTP client (pure: client.py, checked against
contracts/), the client from settings (connect.py) and the intake of the call events it reports
(intake.py)."""
