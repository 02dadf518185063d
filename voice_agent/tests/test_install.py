"""Installing the app on a server that cannot reach the internet.

    bench --site SITE run-tests --app voice_agent --module voice_agent.tests.test_install
"""

from __future__ import annotations

from unittest.mock import patch

import frappe
from frappe import installer
from frappe.tests.utils import FrappeTestCase


class TestInstall(FrappeTestCase):
    def test_install_app_looks_nothing_up(self):
        """install-app resolves every required app by name before installing it; a bare name is looked
        up on GitHub, which fails on an air-gapped or firewalled server."""

        def network_lookup(name: str):
            raise AssertionError(f"install-app would look {name!r} up on GitHub")

        with patch.object(installer, "fetch_details_from_tag", side_effect=network_lookup):
            for app in frappe.get_hooks("required_apps", app_name="voice_agent"):
                installer.parse_app_name(app)
