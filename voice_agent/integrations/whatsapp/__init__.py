"""WhatsApp Business Platform (Meta's Cloud API and Business Calling API).

Pure modules (no ``frappe`` import; tested by pytest in CI without a site):

- ``graph``: ``GraphClient``, the Graph API client (messages, media, templates, phone number
  profile, calling), and the pure message builders it sends.
- ``errors``: the table of Graph / WhatsApp error codes: what kind of failure each is, whether and
  how to retry, and the sentence to show the sender.
- ``signature``: the ``X-Hub-Signature-256`` check of webhook bodies.
- ``payloads``: parsing of the webhook bodies (``messages``, ``statuses``, ``calls``).

The Frappe glue (settings, doctypes, the webhook endpoint, the send queue) lives in modules that
import ``frappe`` and are named as such; nothing in the list above may import them.
"""
