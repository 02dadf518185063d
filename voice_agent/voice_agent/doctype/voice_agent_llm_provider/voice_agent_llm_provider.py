"""A language model the WhatsApp bot can use: its kind (OpenAI-compatible, Azure OpenAI, Anthropic), where
it answers, its key (a Password field, decrypted only by voice_agent.integrations.llm.connect), request
limits and prices. Only Voice Agent Managers and System Managers see these records."""

from __future__ import annotations

import math
import re
from urllib.parse import urlsplit

import frappe
from frappe import _
from frappe.model.document import Document

from voice_agent.integrations.llm import anthropic, openai_compat

OPENAI_COMPATIBLE, AZURE, ANTHROPIC = "OpenAI-compatible", "Azure OpenAI", "Anthropic"
KINDS = (OPENAI_COMPATIBLE, AZURE, ANTHROPIC)
DEFAULT_BASE_URLS = {OPENAI_COMPATIBLE: openai_compat.DEFAULT_BASE_URL, ANTHROPIC: anthropic.DEFAULT_BASE_URL}
_AZURE_API_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}(-preview)?")
# (field, lowest, highest): a request bounded by these still fits a bot reply that should come in seconds.
LIMITS = (("connect_timeout", 0.1, 60), ("read_timeout", 1, 600), ("deadline", 1, 900), ("attempts", 1, 10))
# What a test of the connection depends on: changing any of them makes the last result stale.
CONNECTION_FIELDS = ("kind", "model", "base_url", "azure_deployment", "azure_api_version", "organization",
                     "max_tokens_param")


class VoiceAgentLLMProvider(Document):
    def validate(self) -> None:
        if self.kind not in KINDS:
            frappe.throw(_("Kind must be one of {0}.").format(", ".join(_(k) for k in KINDS)))
        for field in ("model", "base_url", "azure_deployment", "azure_api_version", "organization"):
            self.set(field, (self.get(field) or "").strip() or None)
        self._validate_endpoint()
        self._validate_key()
        self._validate_numbers()
        if self._connection_changed():
            self.status, self.last_error = "Not tested", None

    def _validate_endpoint(self) -> None:
        if self.kind != AZURE and not self.model:
            frappe.throw(_("Model is required for a provider of kind {0}.").format(_(self.kind)))
        if self.kind == AZURE:
            if not self.base_url:
                frappe.throw(_("Azure OpenAI needs the resource endpoint as Base URL, e.g. "
                               "https://NAME.openai.azure.com."))
            if not self.azure_deployment:
                frappe.throw(_("Azure OpenAI needs the name of the deployment."))
            if not _AZURE_API_VERSION.fullmatch(self.azure_api_version or ""):
                frappe.throw(_("Azure API Version looks like 2024-10-21 (a date, optionally with -preview)."))
        else:
            self.azure_deployment = None
            self.base_url = self.base_url or DEFAULT_BASE_URLS[self.kind]
        self.base_url = self.base_url.rstrip("/")
        url = urlsplit(self.base_url)
        if url.scheme not in ("http", "https") or not url.hostname or any(c.isspace() for c in self.base_url):
            frappe.throw(_("Base URL must be an http:// or https:// address, e.g. {0}.").format(
                DEFAULT_BASE_URLS.get(self.kind, "https://NAME.openai.azure.com")))
        if url.username or url.password or url.query or url.fragment:
            frappe.throw(_("Base URL must not contain a user name, a password, a query or a fragment: the key "
                           "goes in the API Key field."))
        if self.kind != OPENAI_COMPATIBLE:
            self.organization = None
        if self.kind == ANTHROPIC or not self.max_tokens_param:
            self.max_tokens_param = "max_tokens"
        if self.max_tokens_param not in openai_compat.MAX_TOKENS_PARAMS:
            frappe.throw(_("Reply Length Parameter must be one of {0}.").format(
                ", ".join(openai_compat.MAX_TOKENS_PARAMS)))

    def _validate_key(self) -> None:
        if self.api_key:  # on a saved record, asterisks stand for the stored key
            return
        if self.kind != OPENAI_COMPATIBLE:
            frappe.throw(_("An API key is required for {0}.").format(_(self.kind)))
        if urlsplit(self.base_url).hostname == urlsplit(openai_compat.DEFAULT_BASE_URL).hostname:
            frappe.throw(_("An API key is required for OpenAI. Only a server that takes none (a local vLLM or "
                           "Ollama) may be used without one."))

    def _validate_numbers(self) -> None:
        for field, lowest, highest in LIMITS:
            value = self.get(field)
            if value is None or not math.isfinite(value) or not lowest <= value <= highest:
                frappe.throw(_("{0} must be between {1} and {2}.").format(
                    _(self.meta.get_label(field)), lowest, highest))
        if self.deadline < self.connect_timeout:
            frappe.throw(_("Total Deadline must be at least the Connect Timeout."))
        for field in ("input_price", "output_price"):
            value = self.get(field) or 0
            if not math.isfinite(value) or value < 0:
                frappe.throw(_("{0} must be a price of at least 0.").format(_(self.meta.get_label(field))))

    def _connection_changed(self) -> bool:
        if self.is_new():
            return False
        key = self.api_key
        return any(self.has_value_changed(field) for field in CONNECTION_FIELDS) or \
            bool(key and not self.is_dummy_password(key))
