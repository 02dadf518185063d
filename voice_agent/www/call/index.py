"""The public /call?invite=… page: the customer joins an invited call, no login.

The page holds nothing secret; the bundle exchanges the invite id for a call
token through voice_agent.api.calls.join_invite (guest, rate-limited)."""

import frappe
from frappe import _

no_cache = 1


def get_context(context: frappe._dict) -> frappe._dict:
    context.no_breadcrumbs = True
    context.title = _("Join the call")
    context.lang = frappe.local.lang or "en"
    context.brand = frappe.db.get_single_value("Website Settings", "app_name") or frappe.local.site
    context.asset_version = frappe.utils.get_build_version()
    return context
