"""The public side of the AI voice agent: sessions started from /voice-agent and the website widget."""
