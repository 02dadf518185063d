"""The brand of the public pages (/voice-agent and the invite page /call): the company's name and logo,
never the framework's name, and nothing private for the guests who read them.

    bench --site SITE run-tests --app voice_agent --module voice_agent.tests.test_brand

Every test is rolled back (voice_agent.tests.utils.VoiceAgentTestCase): the site keeps none of it.
"""

from __future__ import annotations

import importlib
import json
from html import unescape
from unittest.mock import patch

import frappe

from voice_agent.site_brand import public_file_url, site_brand
from voice_agent.tests.utils import VoiceAgentTestCase, as_user

CALL_PAGE = importlib.import_module("voice_agent.www.call.index")
PORTAL_PAGE = importlib.import_module("voice_agent.www.voice-agent.index")
LOGO = "/files/va-brand-logo.png"
PRIVATE_LOGO = "/private/files/va-brand-logo.png"
WEBSITE_LOGO = "/files/va-website-logo.png"
FAVICON = "/files/va-favicon.ico"


def default_company(company: str | None):
    real = frappe.defaults.get_global_default
    return patch("frappe.defaults.get_global_default", side_effect=lambda key: company if key == "company" else real(key))


class TestBrand(VoiceAgentTestCase):
    def setUp(self):
        super().setUp()
        self.company = frappe.db.get_value("Company", {}, "name") if frappe.db.exists("DocType", "Company") else None
        self.set_single("Website Settings", {"app_name": "Frappe", "app_logo": None, "favicon": None})

    def with_company(self, logo: str | None):
        """The site's default company is a company of this site, with `logo`."""
        if not self.company:
            self.skipTest("no Company on this site (ERPNext is not installed)")
        frappe.db.set_value("Company", self.company, "company_logo", logo)
        return default_company(self.company)

    def page_context(self, page) -> frappe._dict:
        with as_user("Guest"):
            return page.get_context(frappe._dict())

    def test_only_public_files_of_the_site(self):
        self.assertEqual(public_file_url(" /files/logo.png "), "/files/logo.png")
        for url in (None, "", PRIVATE_LOGO, "https://cdn.example.com/logo.png", "/files/../private/files/x.png",
                    "files/logo.png"):
            self.assertEqual(public_file_url(url), "", url)

    def test_the_company_name_and_logo_also_as_favicon(self):
        with self.with_company(LOGO):
            brand = site_brand()
        self.assertEqual((brand.name, brand.logo_url, brand.icon_url), (self.company, LOGO, LOGO))

    def test_the_websites_own_favicon_wins_over_the_logo(self):
        self.set_single("Website Settings", {"favicon": FAVICON})
        with self.with_company(LOGO):
            self.assertEqual(site_brand().icon_url, FAVICON)

    def test_a_private_logo_is_never_shown_to_guests(self):
        with self.with_company(PRIVATE_LOGO):
            self.assertEqual(site_brand().logo_url, "")
            self.set_single("Website Settings", {"app_logo": WEBSITE_LOGO})
            self.assertEqual(site_brand().logo_url, WEBSITE_LOGO)
            context = self.page_context(CALL_PAGE)
        self.assertNotIn("/private/", json.dumps(context, default=str))

    def test_without_a_company_the_websites_app_name_unless_it_is_the_frameworks_default(self):
        with default_company(None):
            self.assertEqual(site_brand().name, frappe.local.site)
            self.set_single("Website Settings", {"app_name": "Harbour Dental", "app_logo": WEBSITE_LOGO})
            self.assertEqual((site_brand().name, site_brand().logo_url), ("Harbour Dental", WEBSITE_LOGO))

    def test_both_pages_carry_the_same_brand_in_title_header_and_favicon(self):
        with self.with_company(LOGO):
            call = self.page_context(CALL_PAGE)
            portal = self.page_context(PORTAL_PAGE)
            call_html = frappe.render_template("voice_agent/www/call/index.html", call)
            portal_html = frappe.render_template("voice_agent/www/voice-agent/index.html", portal)
        for context in (call, portal):
            self.assertEqual((context.brand, context.brand_logo, context.brand_icon), (self.company, LOGO, LOGO))
        self.assertEqual(call.title, f"Join the call – {self.company}")
        self.assertEqual(portal.title, f"Talk to our assistant – {self.company}")
        self.assertEqual(json.loads(portal.config_json)["siteName"], self.company)
        escaped = frappe.utils.escape_html(self.company)
        for html, title in ((call_html, call.title), (portal_html, portal.title)):
            self.assertIn(f"<title>{frappe.utils.escape_html(title)}</title>", html)
            self.assertIn(f'<link rel="icon" href="{LOGO}">', html)
            self.assertIn(f'<img class="va-brand-logo" src="{LOGO}" alt=""><span class="va-brand-name">{escaped}</span>',
                          html)
        self.assertNotIn("frappe", unescape(call_html).lower())

    def test_both_pages_speak_the_visitors_language(self):
        """Their text is translatable as any Frappe page's: a German site shows German headings."""
        translations = {"Join the call": "Dem Anruf beitreten", "Talk to our assistant": "Sprechen Sie mit uns"}
        with patch("frappe.translate.get_all_translations", return_value=translations), \
                patch.object(frappe.local, "lang", "de"):
            call_html = frappe.render_template("voice_agent/www/call/index.html", self.page_context(CALL_PAGE))
            portal_html = frappe.render_template("voice_agent/www/voice-agent/index.html",
                                                 self.page_context(PORTAL_PAGE))
        self.assertIn("<h1>Dem Anruf beitreten</h1>", call_html)
        self.assertIn('<h1 class="va-title">Sprechen Sie mit uns</h1>', portal_html)
        self.assertNotIn('_("', call_html + portal_html)
