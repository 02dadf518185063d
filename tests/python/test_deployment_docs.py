"""Every guest endpoint's rate limit keys on the client address Frappe takes from X-Forwarded-For; the
deployment docs must tell operators that the reverse proxy has to overwrite that header."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("doc", ["README.md", "docs/ultravox.md", "docs/desk-calling.md"])
def test_docs_that_describe_guest_endpoints_say_the_proxy_must_overwrite_x_forwarded_for(doc):
    text = (ROOT / doc).read_text()
    assert "X-Forwarded-For" in text and "overwrite" in text, f"{doc} must say the proxy overwrites X-Forwarded-For"
