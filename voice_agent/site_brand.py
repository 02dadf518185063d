"""Whom the public pages (/voice-agent, /call) speak for: the business's name and, when one is set, its logo.

Guests read these pages: the brand is all they get from here, and only public files (never a
/private/files/… address) are shown to them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import frappe
from frappe import _

# Where Frappe serves public files; private ones live under /private/files/ behind a login.
_PUBLIC_FILES = "/files/"


@dataclass(frozen=True)
class Brand:
    name: str
    # Empty when none is set, or when the one set is not a public file.
    logo_url: str
    icon_url: str


def site_brand() -> Brand:
    """The default Company (ERPNext) and its logo; else the website's app name and app logo; else the site."""
    website = frappe.get_cached_doc("Website Settings")
    company = frappe.defaults.get_global_default("company")
    logo = public_file_url(_company_logo(company)) or public_file_url(website.app_logo)
    return Brand(
        name=company or _own_app_name(website) or frappe.local.site,
        logo_url=logo,
        icon_url=public_file_url(website.favicon) or logo,
    )


def add_brand_to_context(context: frappe._dict, page_title: str) -> Brand:
    """What the shared head and header of the pages (templates/includes/va_brand_*.html) show."""
    brand = site_brand()
    context.title = _("{0} – {1}").format(page_title, brand.name)
    context.brand = brand.name
    context.brand_logo = brand.logo_url
    context.brand_icon = brand.icon_url
    return brand


def public_file_url(url: str | None) -> str:
    """`url` when it is a public file of this site, else ""."""
    url = (url or "").strip()
    if not url.startswith(_PUBLIC_FILES) or ".." in url:
        return ""
    return url


def _company_logo(company: str | None) -> str | None:
    if not company or not frappe.db.exists("DocType", "Company"):
        return None
    return frappe.db.get_value("Company", company, "company_logo")


def _own_app_name(website: Any) -> str:
    """The website's app name unless it is still the field's default: that is the framework's name ("Frappe")."""
    default = website.meta.get_field("app_name").default
    return website.app_name if website.app_name and website.app_name != default else ""
