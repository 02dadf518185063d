"""Frappe stores datetimes naive, in the site's time zone; providers and browsers speak ISO 8601 in UTC.
The two conversions between them."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import frappe
from frappe.utils import convert_utc_to_system_timezone, get_datetime


def from_iso(value: str) -> datetime:
    """An ISO 8601 timestamp (with "Z" or an offset; naive means UTC) as a naive site datetime."""
    parsed = datetime.fromisoformat(str(value).upper().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return convert_utc_to_system_timezone(parsed.astimezone(timezone.utc)).replace(tzinfo=None)


def to_utc(value: datetime | str) -> datetime:
    """A naive site datetime (or its string) as an aware UTC datetime."""
    local = get_datetime(value).replace(tzinfo=ZoneInfo(frappe.utils.get_system_timezone()))
    return local.astimezone(timezone.utc)


def iso_utc(value: datetime | str | None) -> str | None:
    return to_utc(value).isoformat() if value else None
