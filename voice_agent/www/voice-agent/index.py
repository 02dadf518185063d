"""The public /voice-agent page: profiles and the embedding allow-list, never a key."""

import json

import frappe
from frappe import _

from voice_agent.portal.sessions import public_profiles
from voice_agent.site_brand import add_brand_to_context
from voice_agent.web.origins import parse_allowed_origins

no_cache = 1


def get_context(context: frappe._dict) -> frappe._dict:
    settings = frappe.get_cached_doc("Voice Agent Settings")
    brand = add_brand_to_context(context, _("Talk to our assistant"))
    config = {
        "profiles": public_profiles(),
        "allowedOrigins": parse_allowed_origins(settings.allowed_origins),
        "siteName": brand.name,
        "csrfToken": frappe.sessions.get_csrf_token() if frappe.session.user != "Guest" else "",
    }
    context.no_breadcrumbs = True
    context.lang = frappe.local.lang or "en"
    context.asset_version = frappe.utils.get_build_version()
    context.config_json = json.dumps(config, separators=(",", ":"))
    return context

