"""The public /voice-agent page: profiles and the embedding allow-list, never a key."""

import json

import frappe
from frappe import _

from voice_agent.portal.sessions import public_profiles
from voice_agent.web.origins import parse_allowed_origins

no_cache = 1


def get_context(context: frappe._dict) -> frappe._dict:
    settings = frappe.get_cached_doc("Voice Agent Settings")
    config = {
        "profiles": public_profiles(),
        "allowedOrigins": parse_allowed_origins(settings.allowed_origins),
        "siteName": _brand(),
        "csrfToken": frappe.sessions.get_csrf_token() if frappe.session.user != "Guest" else "",
    }
    context.no_breadcrumbs = True
    context.title = _("Talk to our assistant")
    context.lang = frappe.local.lang or "en"
    context.brand = config["siteName"]
    context.asset_version = frappe.utils.get_build_version()
    context.config_json = json.dumps(config, separators=(",", ":"))
    return context


def _brand() -> str:
    """The business the visitor talks to: the default Company on ERPNext, else the site's app name."""
    company = frappe.defaults.get_global_default("company")
    return company or frappe.db.get_single_value("Website Settings", "app_name") or frappe.local.site
