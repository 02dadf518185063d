"""One agent, several channels, on a real site: LLM providers as records (validation, who sees them, the
Test connection button against the loopback fake of both LLM APIs, tests/fakes/llm), a profile's chat
settings and its chat client (provider, then fallback), and the agent's tools called from a WhatsApp
conversation: checked, logged and idempotent exactly as from a voice session.

    bench --site SITE run-tests --app voice_agent --module voice_agent.tests.test_llm_providers

Every test is rolled back (voice_agent.tests.utils.VoiceAgentTestCase): the site keeps none of it.
"""

from __future__ import annotations

import json
import socket
import uuid

import frappe

from voice_agent.actions.runner import ToolCaller, run_tool
from voice_agent.agent.tools import idempotency_key
from voice_agent.api import llm as llm_api
from voice_agent.integrations.llm import AnthropicClient, FallbackClient, OpenAICompatClient, UserTurn
from voice_agent.integrations.llm.connect import chat_client_for_profile, client_for_provider, provider_price
from voice_agent.tests.utils import VoiceAgentTestCase, as_user, ensure_user, http_request, load_fake

fake_llm = load_fake("llm")
PROVIDER = "Voice Agent LLM Provider"
MANAGER = "va-llm-manager@example.com"
AGENT = "va-llm-agent@example.com"
OPENAI_KEY = "sk-unit-openai-5f3c9d2e8a71b6"
ANTHROPIC_KEY = "sk-ant-unit-7b1e4c09d2f3a8"
AZURE_KEY = "unit-azure-key-3e8f1a6c2b"
TEST_METHOD = "voice_agent.api.llm.test_provider_connection"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TestLLMProviders(VoiceAgentTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fake = fake_llm.FakeLLM(openai_key=OPENAI_KEY, anthropic_key=ANTHROPIC_KEY, azure_key=AZURE_KEY,
                                    known_models=["gpt-4o-mini", "claude-haiku-4-5"]).start()
        cls.addClassCleanup(cls.fake.stop)
        ensure_user(MANAGER, "Voice Agent Manager")
        ensure_user(AGENT, "Voice Agent User")

    def setUp(self):
        super().setUp()
        self.fake.reset()

    # --- helpers -------------------------------------------------------------------------------

    def make_provider(self, **values):
        return frappe.get_doc({
            "doctype": PROVIDER, "title": f"Unit LLM {uuid.uuid4().hex[:8]}", "kind": "OpenAI-compatible",
            "model": "gpt-4o-mini", "base_url": self.fake.openai_base_url, "api_key": OPENAI_KEY, "attempts": 1,
            **values,
        }).insert()

    def make_anthropic(self, **values):
        return self.make_provider(**{"kind": "Anthropic", "model": "claude-haiku-4-5",
                                     "base_url": self.fake.anthropic_base_url, "api_key": ANTHROPIC_KEY, **values})

    def make_profile(self, **values):
        return frappe.get_doc({
            "doctype": "Voice Agent Profile", "title": f"Unit chat {uuid.uuid4().hex[:8]}", "enabled": 1,
            "use_case": "Customer Support", "system_prompt": "Be brief.",
            "tools": [{"tool": "create_support_ticket"}], **values,
        }).insert()

    def check_connection(self, provider: str, user: str = MANAGER) -> dict:
        with http_request(TEST_METHOD), as_user(user):
            return llm_api.test_provider_connection(provider)

    def assertProviderRefused(self, message: str, **values):
        with self.assertRaises(frappe.ValidationError) as caught:
            self.make_provider(**values)
        self.assertIn(message, str(caught.exception))

    def make_conversation(self) -> str:
        account = frappe.get_doc({
            "doctype": "WhatsApp Account", "title": f"Unit chat {uuid.uuid4().hex[:6]}", "enabled": 1,
            "phone_number_id": str(10**14 + uuid.uuid4().int % 10**14), "waba_id": "1234567890",
            "access_token": "unit-token", "app_secret": "unit-app-secret", "verify_token": "unit-verify",
            "graph_api_version": "v23.0",
        }).insert()
        self.account = account.name
        return frappe.get_doc({"doctype": "WhatsApp Conversation", "account": account.name,
                               "wa_id": f"1650555{uuid.uuid4().int % 10000:04d}"}).insert().name

    # --- the provider record ---------------------------------------------------------------------

    def test_provider_validation_says_what_is_wrong(self):
        self.assertProviderRefused("Base URL must be an http:// or https:// address", base_url="ftp://llm.example.com")
        self.assertProviderRefused("Base URL must be an http:// or https:// address", base_url="api.openai.com/v1")
        self.assertProviderRefused("must not contain a user name, a password", base_url="https://me:pw@llm.example.com")
        self.assertProviderRefused("Model is required", model="")
        self.assertProviderRefused("An API key is required for OpenAI", base_url="", api_key="")
        self.assertProviderRefused("An API key is required for Anthropic", kind="Anthropic", api_key="")
        self.assertProviderRefused("Azure OpenAI needs the resource endpoint", kind="Azure OpenAI", base_url="",
                                   azure_deployment="gpt-4o-mini")
        self.assertProviderRefused("Azure OpenAI needs the name of the deployment", kind="Azure OpenAI",
                                   base_url=self.fake.azure_endpoint)
        self.assertProviderRefused("Azure API Version looks like 2024-10-21", kind="Azure OpenAI",
                                   base_url=self.fake.azure_endpoint, azure_deployment="gpt-4o-mini",
                                   azure_api_version="v1")
        self.assertProviderRefused("Attempts must be between 1 and 10", attempts=0)
        self.assertProviderRefused("Read Timeout (s) must be between 1 and 600", read_timeout=0)
        self.assertProviderRefused("Total Deadline (s) must be between 1 and 900", deadline=5000)
        self.assertProviderRefused("Total Deadline must be at least the Connect Timeout", connect_timeout=10, deadline=5)

    def test_provider_defaults_per_kind_and_a_local_server_without_key(self):
        openai = self.make_provider(base_url="", title=f"Unit OpenAI {uuid.uuid4().hex[:6]}")
        self.assertEqual(openai.base_url, "https://api.openai.com/v1")
        claude = self.make_provider(kind="Anthropic", model="claude-haiku-4-5", base_url=" ", api_key=ANTHROPIC_KEY,
                                    organization="org-ignored")
        self.assertEqual((claude.base_url, claude.organization), ("https://api.anthropic.com", None))
        ollama = self.make_provider(base_url="http://127.0.0.1:11434/v1/", api_key="", model="llama3.2")
        self.assertEqual(ollama.base_url, "http://127.0.0.1:11434/v1")
        self.assertIsInstance(client_for_provider(ollama.name), OpenAICompatClient)
        azure = self.make_provider(kind="Azure OpenAI", model="", base_url=self.fake.azure_endpoint,
                                   azure_deployment="gpt-4o-mini", api_key=AZURE_KEY)
        client = client_for_provider(azure.name)
        self.assertEqual((client.provider, client.model), ("azure", "gpt-4o-mini"))

    def test_a_changed_key_or_address_makes_the_last_test_stale(self):
        provider = self.make_provider()
        self.fake.script(fake_llm.Reply("OK"))
        self.assertTrue(self.check_connection(provider.name)["ok"])
        provider.reload()
        self.assertEqual(provider.status, "Connected")
        provider.title = provider.title  # saving without a change keeps the result
        provider.save()
        self.assertEqual(provider.status, "Connected")
        provider.api_key = "sk-unit-another-key-0000"
        provider.save()
        self.assertEqual(provider.status, "Not tested")

    def test_only_managers_see_providers_and_test_them(self):
        provider = self.make_provider()
        with as_user(AGENT):
            self.assertFalse(frappe.has_permission(PROVIDER, "read"))
            self.assertRaises(frappe.PermissionError, frappe.get_list, PROVIDER)
        self.assertRaises(frappe.PermissionError, self.check_connection, provider.name, AGENT)
        with as_user(MANAGER):
            for ptype in ("read", "write", "create", "delete"):
                self.assertTrue(frappe.has_permission(PROVIDER, ptype), ptype)
            # The form gets asterisks, never the key.
            self.assertNotIn(OPENAI_KEY, json.dumps(frappe.get_doc(PROVIDER, provider.name).as_dict(), default=str))
        self.assertEqual(self.fake.requests, [])

    # --- Test connection -----------------------------------------------------------------------

    def assertTestFails(self, provider, says: str, error: str, *keys: str) -> dict:
        result = self.check_connection(provider.name)
        self.assertEqual((result["ok"], result["error"]), (False, error), result)
        self.assertIn(says, result["message"])
        stored = frappe.db.get_value(PROVIDER, provider.name, ["status", "last_error", "last_tested_at"], as_dict=True)
        self.assertEqual((stored.status, stored.last_error), ("Error", result["message"]))
        self.assertTrue(stored.last_tested_at)
        for key in (OPENAI_KEY, ANTHROPIC_KEY, AZURE_KEY, *keys):
            self.assertNotIn(key, result["message"])
        return result

    def test_connection_ok_sends_one_short_chat(self):
        provider = self.make_provider()
        self.fake.script(fake_llm.Reply("OK", usage=(12, 1)))
        result = self.check_connection(provider.name)
        self.assertTrue(result["ok"], result)
        self.assertIn("Connected: gpt-4o-mini answered in", result["message"])
        self.assertIn("12 input and 1 output tokens", result["message"])
        (request,) = self.fake.requests_to("openai")
        self.assertEqual((request.body["max_tokens"], request.last_user_text, request.tool_names),
                         (16, "Say OK.", []))
        self.assertEqual(frappe.db.get_value(PROVIDER, provider.name, ["status", "last_error"]), ("Connected", None))
        claude = self.make_anthropic()
        self.fake.script(fake_llm.Reply("OK"), api="anthropic")
        self.assertTrue(self.check_connection(claude.name)["ok"])

    def test_connection_with_a_refused_key(self):
        wrong = "sk-unit-wrong-key-9a8b7c6d5e"
        provider = self.make_provider(api_key=wrong)
        result = self.assertTestFails(provider, "The provider refused the API key (HTTP 401)", "AuthError", wrong)
        self.assertNotIn(wrong[-6:], result["message"])  # OpenAI's own 401 text quotes part of the key
        self.assertEqual(self.fake.requests_to("openai")[0].answered_by, "auth")
        claude = self.make_anthropic(api_key="sk-ant-unit-wrong-000111")
        self.assertTestFails(claude, "The provider refused the API key (HTTP 401)", "AuthError")

    def test_connection_at_the_spend_limit_is_not_retried(self):
        provider = self.make_provider(attempts=3)
        self.fake.script(fake_llm.Fail("quota"), fake_llm.Reply("never sent"), api="openai")
        self.assertTestFails(provider, "no credit left or has reached its spend limit", "SpendLimitError")
        self.assertEqual((len(self.fake.requests), self.fake.pending), (1, 1))
        self.fake.reset()
        claude = self.make_anthropic()
        self.fake.script(fake_llm.Fail("quota", variant="tier_cap"), api="anthropic")
        self.assertTestFails(claude, "spend limit", "SpendLimitError")

    def test_connection_to_an_unreachable_server(self):
        provider = self.make_provider(base_url=f"http://127.0.0.1:{closed_port()}/v1", connect_timeout=1)
        self.assertTestFails(provider, "could not be reached: check the base URL and that the server is running",
                             "LLMConnectionError")

    def test_connection_to_an_unknown_model_or_a_slow_server(self):
        provider = self.make_provider(model="gpt-unknown")
        self.assertTestFails(provider, "The model or deployment gpt-unknown was not found", "ModelNotFoundError")
        slow = self.make_provider(read_timeout=1)
        self.fake.script(fake_llm.Hang(3))
        self.assertTestFails(slow, "did not answer in time", "LLMTimeoutError")

    # --- the profile's chat side ---------------------------------------------------------------

    def assertProfileRefused(self, message: str, **values):
        with self.assertRaises(frappe.ValidationError) as caught:
            self.make_profile(**values)
        self.assertIn(message, str(caught.exception))

    def test_profile_chat_settings_are_validated(self):
        provider = self.make_provider()
        off = self.make_provider(enabled=0)
        self.assertProfileRefused("Chat Provider is required", chat_enabled=1)
        self.assertProfileRefused("must be another provider", chat_provider=provider.name,
                                  chat_fallback_provider=provider.name)
        self.assertProfileRefused(f"LLM provider {off.name} is disabled", chat_enabled=1, chat_provider=off.name)
        self.assertProfileRefused("Chat Temperature must be between 0 and 1", chat_temperature=1.5)
        self.assertProfileRefused("Max Reply Tokens must be between 16 and 8192", chat_max_tokens=5)
        self.assertProfileRefused("Hand Over at Lead Score must be between 0 and 100", handover_score_threshold=150)
        self.assertProfileRefused("english is not a language code", chat_languages="english, de")
        self.assertProfileRefused("The default chat language fr is not among the allowed languages (en, de)",
                                  chat_languages="en, de", chat_default_language="fr")
        self.assertProfileRefused("Lead Score Weights must be JSON", lead_score_weights="{booking: 30}")
        self.assertProfileRefused("Lead Score Weights must be a JSON object", lead_score_weights="[30]")
        self.assertProfileRefused("Unknown signal kind 'vibes'", lead_score_weights='{"vibes": 5}')
        self.assertProfileRefused("The weight of booking must be a whole number from 0 to 100",
                                  lead_score_weights='{"booking": 150}')

    def test_profile_chat_settings_are_normalised_and_read_back(self):
        provider = self.make_provider()
        profile = self.make_profile(chat_enabled=1, chat_provider=provider.name, chat_languages="EN; pt_br, en",
                                    chat_default_language="PT-br", lead_score_weights='{"booking": 30, "engagement": 1}',
                                    chat_max_turns=8, handover_score_threshold=70, tool_failure_limit=0)
        self.assertEqual((profile.chat_languages, profile.chat_default_language), ("en, pt-BR", "pt-BR"))
        self.assertEqual(profile.allowed_languages(), ["en", "pt-BR"])
        weights = profile.score_weights()
        self.assertEqual((weights["booking"], weights["engagement"], weights["intent"]), (30, 1, 15))
        config = profile.handover_config()
        self.assertEqual((config.max_turns, config.score_threshold, config.tool_failure_limit), (8, 70, None))
        plain = self.make_profile()  # the defaults a profile without chat settings gets
        self.assertEqual((plain.chat_enabled, plain.chat_temperature, plain.chat_max_tokens, plain.tool_failure_limit,
                          plain.chat_default_language, plain.share_party_name, plain.share_open_orders),
                         (0, 0.3, 600, 3, "en", 1, 0))

    def test_the_chat_client_asks_the_provider_then_the_fallback(self):
        primary = self.make_provider()
        fallback = self.make_anthropic()
        profile = self.make_profile(chat_enabled=1, chat_provider=primary.name, chat_fallback_provider=fallback.name)
        client = chat_client_for_profile(profile.name)
        self.assertIsInstance(client, FallbackClient)
        self.assertEqual([c.provider for c in client.clients], ["openai", "anthropic"])
        self.fake.script(fake_llm.Fail("quota"), api="openai")
        self.fake.script(fake_llm.Reply("Hello from the fallback"), api="anthropic")
        reply = client.chat("Be brief.", [UserTurn("hi")], [], temperature=0.3)
        self.assertEqual((reply.provider, reply.text), ("anthropic", "Hello from the fallback"))
        self.assertEqual([(f.provider, f.error) for f in reply.failed_over], [("openai", "SpendLimitError")])
        self.assertNotIn(OPENAI_KEY, repr(client))

        # A disabled primary hands the chats to the fallback; without a fallback the provider answers alone.
        frappe.get_doc(PROVIDER, primary.name).update({"enabled": 0}).save()
        self.assertIsInstance(chat_client_for_profile(profile.name), AnthropicClient)
        self.assertIsInstance(chat_client_for_profile(self.make_profile(chat_provider=fallback.name)),
                              AnthropicClient)
        frappe.get_doc(PROVIDER, fallback.name).update({"enabled": 0}).save()
        self.assertRaisesRegex(frappe.ValidationError, "No enabled LLM provider", chat_client_for_profile,
                               profile.name)
        self.assertRaisesRegex(frappe.ValidationError, "has no chat provider", chat_client_for_profile,
                               self.make_profile().name)

    def test_a_provider_without_temperature_never_sends_one(self):
        reasoning = self.make_provider(send_temperature=0, max_tokens_param="max_completion_tokens")
        self.fake.script(fake_llm.Reply("fine"), api="openai")
        client_for_provider(reasoning.name).chat("Be brief.", [UserTurn("hi")], [], temperature=0.7, max_tokens=50)
        body = self.fake.requests_to("openai")[0].body
        self.assertNotIn("temperature", body)
        self.assertEqual(body["max_completion_tokens"], 50)

    def test_provider_prices(self):
        own = provider_price(self.make_provider(input_price=0.2, output_price=0.8))
        self.assertEqual((own.input, own.output), (0.2, 0.8))
        self.assertEqual(provider_price(self.make_provider()).output, 0.60)  # gpt-4o-mini's list price
        self.assertIsNone(provider_price(self.make_provider(base_url="http://127.0.0.1:11434/v1", model="llama3.2")))

    # --- tools called from a chat ----------------------------------------------------------------

    def test_a_tool_called_from_a_chat_is_checked_logged_and_idempotent(self):
        profile = self.make_profile()
        conversation = self.make_conversation()
        caller = ToolCaller(profile=profile.name, whatsapp_conversation=conversation)
        subject = f"Chat printer {uuid.uuid4().hex[:6]}"
        args = {"customer_name": "Ann", "subject": subject, "description": "It jams.", "priority": "High"}
        with as_user("Guest"):  # as the bot's job runs, for the webhook's Guest
            first = run_tool(caller, "create_support_ticket", args)
            again = run_tool(caller, "create_support_ticket", {**args, "subject": subject.upper()})
        self.assertIn("document", first, first)
        self.assertEqual(again, {"result": first["result"]})
        doctype, name = first["document"]["doctype"], first["document"]["name"]
        self.assertEqual(frappe.db.count(doctype, {"subject": subject}), 1)
        logged = frappe.get_all("Voice Interaction", filters={"whatsapp_conversation": conversation},
                                fields=["tool", "status", "reference_doctype", "reference_name", "voice_session"])
        self.assertEqual([(r.tool, r.status, r.reference_doctype, r.reference_name, r.voice_session) for r in logged],
                         [("create_support_ticket", "Success", doctype, name, None)])

        with as_user("Guest"):
            refused = run_tool(caller, "place_restaurant_order",
                               {"customer_name": "Ann", "phone": "555 0100", "items": [{"item": "Pizza", "qty": 1}]})
            invalid = run_tool(caller, "create_support_ticket", {**args, "subject": "x"})
        self.assertIn("cannot do that", refused["result"])  # not among this profile's tools
        self.assertIn("short subject", invalid["result"])
        statuses = frappe.get_all("Voice Interaction", filters={"whatsapp_conversation": conversation}, pluck="status")
        self.assertEqual(sorted(statuses), ["Refused", "Refused", "Success"])

    def test_a_chat_and_a_voice_session_of_the_same_name_never_share_idempotency_keys(self):
        voice = ToolCaller(profile="P", voice_session="abc123")
        chat = ToolCaller(profile="P", whatsapp_conversation="abc123")
        self.assertEqual(voice.scope, "abc123")  # the keys of voice calls already logged stay valid
        args = {"customer_name": "Ann", "subject": "Printer", "description": "It jams."}
        self.assertNotEqual(idempotency_key(voice.scope, "create_support_ticket", args),
                            idempotency_key(chat.scope, "create_support_ticket", args))
        self.assertRaises(ValueError, ToolCaller, profile="P")
        self.assertRaises(ValueError, ToolCaller, profile="P", voice_session="a", whatsapp_conversation="b")

    def test_a_chats_tool_calls_are_seen_by_whoever_sees_the_conversation(self):
        profile = self.make_profile()
        conversation = self.make_conversation()
        with as_user("Guest"):
            run_tool(ToolCaller(profile=profile.name, whatsapp_conversation=conversation), "create_support_ticket",
                     {"customer_name": "Ann", "subject": "A chat's ticket", "description": "x"})
        interaction = frappe.get_all("Voice Interaction", filters={"whatsapp_conversation": conversation},
                                     pluck="name")[0]
        with as_user(AGENT):  # not in the number's team
            self.assertNotIn(interaction, frappe.get_list("Voice Interaction", pluck="name"))
            self.assertFalse(frappe.has_permission("Voice Interaction", "read", interaction))
        account = frappe.get_doc("WhatsApp Account", self.account)
        account.append("team", {"user": AGENT})
        account.save()
        with as_user(AGENT):
            self.assertIn(interaction, frappe.get_list("Voice Interaction", pluck="name"))
            self.assertTrue(frappe.has_permission("Voice Interaction", "read", interaction))
        with as_user(MANAGER):
            self.assertIn(interaction, frappe.get_list("Voice Interaction", pluck="name"))
