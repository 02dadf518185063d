app_name = "voice_agent"
app_title = "Voice Agent"
app_publisher = "voice_agent contributors"
app_description = "AI voice agents (Ultravox), WhatsApp Business and browser calling (mediasoup) for ERPNext and Frappe CRM"
app_email = "dev@voice-agent.invalid"
app_license = "MIT"
# No required_apps: Frappe is always installed, and install-app would look a bare name up on GitHub.

# Every whitelisted argument must be annotated: Frappe validates and coerces
# it before our code runs.
require_type_annotated_api_methods = True

# --- AI voice agent (Ultravox) -------------------------------------------
# Webhook events that failed (or whose job never ran) are processed again.
scheduler_events = {
    "cron": {
        # WhatsApp messages whose send is due, inbound files whose download is due, and customer messages
        # the bot has not answered (a retry, or a job that was lost), go within a minute.
        "* * * * *": [
            "voice_agent.integrations.whatsapp.outbound.send_due_messages",
            "voice_agent.integrations.whatsapp.media.download_due",
            "voice_agent.conversations.bot.answer_waiting",
            # Also what a web process died before processing (see its module): within about two minutes.
            "voice_agent.integrations.whatsapp.webhook.retry_failed_events",
        ],
        "*/5 * * * *": [
            "voice_agent.integrations.ultravox.webhook.retry_failed_webhook_events",
        ],
        # Live calls the call server no longer knows (a sidecar killed or crashed) are closed as lost.
        "*/2 * * * *": [
            "voice_agent.integrations.sidecar.reconcile.close_lost_calls",
        ],
    },
    "daily": [
        "voice_agent.integrations.whatsapp.webhook.delete_old_events",
        "voice_agent.integrations.whatsapp.template_sync.sync_all",
    ],
}

# The Lead's WhatsApp lead score (written by the bot, explained in Lead Score Change).
after_install = ["voice_agent.conversations.scores.add_lead_score_field"]
after_migrate = ["voice_agent.conversations.scores.add_lead_score_field"]

# Only the site itself and the allowed origins may frame /voice-agent; nobody frames /call.
after_request = ["voice_agent.page_headers.add_frame_ancestors"]

# --- Desk calling ----------------------------------------------------------
# The records whose party can be called (a Call button on their form; other apps may add theirs),
# and the ways a call reaches the customer (voice_agent/telephony/base.py): {Voice Call channel: class}.
voice_agent_callable_doctypes = ["Lead", "Customer", "Contact", "CRM Lead", "CRM Deal"]
voice_agent_call_channels = {
    "Browser": "voice_agent.telephony.browser.BrowserChannel",
    "WhatsApp": "voice_agent.telephony.whatsapp.WhatsAppChannel",
}

# A Voice Agent User sees only the calls where they are the agent, and the WhatsApp conversations of
# the numbers whose team they are in or that are assigned to them.
permission_query_conditions = {
    "Voice Call": "voice_agent.voice_agent.doctype.voice_call.voice_call.get_permission_query_conditions",
    "WhatsApp Conversation": "voice_agent.conversations.access.conversation_query_conditions",
    "WhatsApp Message": "voice_agent.conversations.access.message_query_conditions",
    "Voice Interaction": "voice_agent.conversations.access.interaction_query_conditions",
    "Lead Score Change": "voice_agent.conversations.access.score_change_query_conditions",
}
has_permission = {
    "Voice Call": "voice_agent.voice_agent.doctype.voice_call.voice_call.has_permission",
    "WhatsApp Conversation": "voice_agent.conversations.access.has_conversation_permission",
    "WhatsApp Message": "voice_agent.conversations.access.has_message_permission",
    "Voice Interaction": "voice_agent.conversations.access.has_interaction_permission",
    "Lead Score Change": "voice_agent.conversations.access.has_score_change_permission",
}
# Calls and WhatsApp messages on the timeline of the record they belong to.
additional_timeline_content = {"*": [
    "voice_agent.telephony.timeline.timeline_content",
    "voice_agent.conversations.timeline.timeline_content",
]}
# The callable doctypes and the calling roles, for the Call buttons, and a message when the user
# may not read some of those doctypes (so cannot call their records).
boot_session = "voice_agent.telephony.settings.boot_session"
# Call buttons and the WhatsApp panel: thin loaders that lazy-load their bundles from
# /assets/voice_agent/dist/ (call_panel.js, whatsapp_panel.js). Every callable doctype has the Call
# button (tests/python/test_layout.py checks it).
_CALL = "public/js/call_button.js"
_WHATSAPP = "public/js/whatsapp_panel.js"
# Call durations as m:ss on the Voice Call form and list, as on the timeline and in the call panel.
_DURATIONS = "public/js/call_durations.js"
doctype_js = {
    "Lead": [_CALL, _WHATSAPP],
    "Customer": [_CALL, _WHATSAPP],
    "Contact": [_CALL, _WHATSAPP],
    "CRM Lead": [_CALL, _WHATSAPP],
    "CRM Deal": [_CALL],
    "Voice Call": [_DURATIONS, "public/js/voice_call_form.js", "public/js/voice_call_supervise.js"],
}
doctype_list_js = {"Voice Call": _DURATIONS}
# The incoming WhatsApp call popup, on every desk page (small: it lazy-loads call_panel.js on Accept).
# Not a .bundle. name: Frappe serves the path as it is (frappe.utils.jinja_globals.bundled_asset).
app_include_js = ["/assets/voice_agent/dist/whatsapp_calls.js"]

# --- Personal data -------------------------------------------------------
# Frappe's personal data download and deletion requests find these records by the customer's email
# (copied from the party of a conversation, given to the agent's tools); deletion redacts these fields.
user_data_fields = [
    {"doctype": "WhatsApp Conversation", "filter_by": "customer_email",
     "redact_fields": ["profile_name", "wa_id", "user_id", "phone", "party_title", "last_message_preview",
                       "bot_summary", "bot_memory", "score_explanation", "handover_detail"]},
    {"doctype": "Lead Score Change", "filter_by": "customer_email", "redact_fields": ["reasons", "explanation", "details"]},
    {"doctype": "WhatsApp Message", "filter_by": "customer_email",
     "redact_fields": ["text", "raw", "contacts", "coordinates", "location_name", "location_address", "filename",
                       "media_file", "reaction_emoji"]},
    {"doctype": "Voice Session", "filter_by": "customer_email",
     "redact_fields": ["transcript", "live_transcript", "summary", "short_summary", "client_ip", "page_url",
                       "origin", "context"]},
    {"doctype": "Voice Interaction", "filter_by": "customer_email", "redact_fields": ["inputs", "reply"]},
    {"doctype": "Voice Call", "filter_by": "party_email", "redact_fields": ["party_name", "party_phone"]},
]

# --- Fixtures ------------------------------------------------------------
fixtures = [
    {"dt": "Role", "filters": [["name", "in", ["Voice Agent Manager", "Voice Agent User", "Voice Sidecar"]]]},
    {"dt": "Number Card", "filters": [["name", "in", [
        "Voice Sessions This Month", "Live Voice Sessions", "Average Voice Session Duration",
        "Voice Agent Tool Calls This Month", "WhatsApp Messages Received Today", "Unread WhatsApp Conversations",
        "Unassigned WhatsApp Conversations", "Failed WhatsApp Messages This Week"]]]},
    {"dt": "Dashboard Chart", "filters": [["name", "in", [
        "Voice Sessions per Day", "Voice Session Outcomes", "Voice Agent Tool Use"]]]},
]
