"""The public /call?invite=… page: the customer joins an invited call, no login.

The page holds nothing secret; the bundle exchanges the invite id for a call
token through voice_agent.api.calls.join_invite (guest, rate-limited)."""

import frappe
from frappe import _

from voice_agent.site_brand import add_brand_to_context

no_cache = 1


def get_context(context: frappe._dict) -> frappe._dict:
    add_brand_to_context(context, _("Join the call"))
    context.no_breadcrumbs = True
    context.lang = frappe.local.lang or "en"
    context.asset_version = frappe.utils.get_build_version()
    return context
