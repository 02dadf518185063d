"""Work done on behalf of the site rather than of whoever triggered it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import frappe


@contextmanager
def as_administrator() -> Iterator[None]:
    """Webhook jobs and guest tools run as Guest: ERPNext resolves defaults and permissions from the
    session user, and records would say "Guest created this" and assign ToDos from Guest."""
    user = frappe.session.user
    if user == "Administrator":
        yield  # set_user would also empty the process's local cache (meta, cached documents) for nothing
        return
    frappe.set_user("Administrator")
    try:
        yield
    finally:
        frappe.set_user(user)
