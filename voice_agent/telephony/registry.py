"""The call channels a site has: `voice_agent_call_channels` in the hooks of every installed app,
{Voice Call channel value: dotted path of a CallChannel class}."""

from __future__ import annotations

import frappe
from frappe import _

from voice_agent.telephony.base import CallChannel


def channel_names() -> list[str]:
    return list(_registered())


def get_channel(channel: str) -> CallChannel:
    """The channel named `channel` (a Voice Call channel value; any letter case)."""
    path = next((p for name, p in _registered().items() if name.lower() == (channel or "").lower()), None)
    if not path:
        frappe.throw(_("Calls through {0} are not available on this site.").format(frappe.bold(channel)))
    channel_class = frappe.get_attr(path)
    if not (isinstance(channel_class, type) and issubclass(channel_class, CallChannel)):
        frappe.throw(_("{0} is not a call channel.").format(path))
    return channel_class()


def _registered() -> dict[str, str]:
    # get_hooks merges the apps' dicts into {name: [path, ...]}; a later app overrides an earlier one.
    hooks = frappe.get_hooks("voice_agent_call_channels", default={})
    return {name: paths[-1] for name, paths in hooks.items() if paths}
