app_name = "voice_agent"
app_title = "Voice Agent"
app_publisher = "voice_agent contributors"
app_description = "AI voice agents (Ultravox), WhatsApp Business and browser calling (mediasoup) for ERPNext and Frappe CRM"
app_email = "dev@voice-agent.invalid"
app_license = "MIT"
required_apps = ["frappe"]

# Every whitelisted argument must be annotated: Frappe validates and coerces
# it before our code runs.
require_type_annotated_api_methods = True

# --- AI voice agent (Ultravox) -------------------------------------------

# --- Desk calling ----------------------------------------------------------

# --- Fixtures ------------------------------------------------------------
