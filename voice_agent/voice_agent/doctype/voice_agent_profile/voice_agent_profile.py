"""How an AI agent behaves and what it may do, on every channel: the prompt and tools are shared; the voice
settings drive Ultravox, the chat settings the WhatsApp bot (its LLM providers, temperature, reply length,
hand-over rules, languages, lead-score weights and the customer's ERPNext facts it may see)."""

from __future__ import annotations

import json
import re

import frappe
from frappe import _
from frappe.model.document import Document

from voice_agent.bot.handover import HandOverConfig
from voice_agent.bot.language import normalise_code, reply_language
from voice_agent.bot.scoring import resolve_weights

_LANGUAGE_CODE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")
# (field, lowest, highest) of the chat settings; 0 switches a hand-over rule off.
CHAT_LIMITS = (("chat_max_tokens", 16, 8192), ("chat_max_turns", 0, 1000), ("handover_score_threshold", 0, 100),
               ("tool_failure_limit", 0, 20))


class VoiceAgentProfile(Document):
    def validate(self):
        if self.temperature is not None and not 0 <= self.temperature <= 1:
            frappe.throw(_("Temperature must be between 0 and 1."))
        if self.max_duration_sec and not 30 <= self.max_duration_sec <= 3600:
            frappe.throw(_("Max duration must be between 30 and 3600 seconds."))
        seen = set()
        for row in self.tools:
            if row.tool in seen:
                frappe.throw(_("Tool {0} is listed twice.").format(row.tool))
            seen.add(row.tool)
        for field, default in (("opening_time", "09:00"), ("closing_time", "17:00")):
            value = (self.get(field) or default).strip()
            if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
                frappe.throw(_("{0} must be a time like 09:00").format(self.meta.get_label(field)))
            self.set(field, value)
        if self.opening_time >= self.closing_time:
            frappe.throw(_("Bookable From must be before Bookable Until."))
        self._validate_chat()

    # --- the chat side ---------------------------------------------------------------------------

    def _validate_chat(self) -> None:
        if self.chat_enabled and not self.chat_provider:
            frappe.throw(_("Chat Provider is required to answer WhatsApp chats."))
        if self.chat_fallback_provider and self.chat_fallback_provider == self.chat_provider:
            frappe.throw(_("The Fallback Provider must be another provider than the Chat Provider."))
        if self.chat_enabled:
            enabled = [p for p in (self.chat_provider, self.chat_fallback_provider)
                       if p and frappe.db.get_value("Voice Agent LLM Provider", p, "enabled")]
            if not enabled:
                frappe.throw(_("LLM provider {0} is disabled: enable it or choose another.").format(self.chat_provider))
        if self.chat_temperature is None or not 0 <= self.chat_temperature <= 1:
            frappe.throw(_("Chat Temperature must be between 0 and 1."))
        for field, lowest, highest in CHAT_LIMITS:
            value = self.get(field)
            if value is None or not lowest <= value <= highest:
                frappe.throw(_("{0} must be between {1} and {2}.").format(_(self.meta.get_label(field)), lowest,
                                                                          highest))
        self._validate_languages()
        self._validate_weights()

    def _validate_languages(self) -> None:
        allowed = self.allowed_languages()
        default = normalise_code(self.chat_default_language) or (allowed[0] if allowed else "en")
        for code in (*allowed, default):
            if not _LANGUAGE_CODE.fullmatch(code):
                frappe.throw(_("{0} is not a language code: use codes such as en, de or pt-BR.").format(code))
        try:
            reply_language(None, allowed, default)
        except ValueError:
            frappe.throw(_("The default chat language {0} is not among the allowed languages ({1}).").format(
                default, ", ".join(allowed)))
        self.chat_languages = ", ".join(allowed) or None
        self.chat_default_language = default

    def _validate_weights(self) -> None:
        text = (self.lead_score_weights or "").strip()
        if not text:
            self.lead_score_weights = None
            return
        try:
            overrides = json.loads(text)
        except ValueError:
            frappe.throw(_("Lead Score Weights must be JSON, e.g. {0}.").format('{"booking": 30}'))
        if not isinstance(overrides, dict):
            frappe.throw(_("Lead Score Weights must be a JSON object of signal kinds and weights, e.g. {0}.").format(
                '{"booking": 30}'))
        try:
            resolve_weights(overrides)
        except ValueError as exc:
            frappe.throw(_("Lead Score Weights: {0}").format(str(exc)))
        self.lead_score_weights = json.dumps(overrides, indent=1, sort_keys=True) if overrides else None

    def allowed_languages(self) -> list[str]:
        codes = (normalise_code(part) for part in re.split(r"[,\s;]+", self.chat_languages or ""))
        return list(dict.fromkeys(code for code in codes if code))

    def score_weights(self) -> dict[str, int]:
        """The lead-score weights of this profile: the defaults with its overrides."""
        return dict(resolve_weights(json.loads(self.lead_score_weights) if self.lead_score_weights else None))

    def handover_config(self) -> HandOverConfig:
        """The hand-over rules of this profile (0 in a field switches its rule off)."""
        return HandOverConfig(tool_failure_limit=self.tool_failure_limit or None,
                              score_threshold=self.handover_score_threshold or None,
                              max_turns=self.chat_max_turns or None)
