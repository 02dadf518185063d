"""Shared setup for the scripts that run against the real site (not CI): log in, point Voice Agent
Settings at a fake Ultravox, ensure a profile and a small menu with prices."""

from __future__ import annotations

import os
import time

import requests

SITE = os.environ.get("VA_SITE_URL", "http://127.0.0.1:8000")
ADMIN_PASSWORD = os.environ.get("VA_ADMIN_PASSWORD", "admin")
WEBHOOK_SECRET = "flow-a-webhook-secret"
PROFILE = "Front Desk (check)"
MENU = {"Margherita Pizza": 11.5, "Garlic Bread": 4.25, "Lemonade": 3.0}


def wait_for_site(seconds: float = 60) -> None:
    """The dev server reloads whenever a file of the app changes; wait until it answers."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if requests.get(f"{SITE}/api/method/ping", timeout=5).ok:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{SITE} does not answer")
        time.sleep(1)


_admin_logins: dict[str, list] = {"sessions": [], "logins": []}


def admin_session() -> requests.Session:
    wait_for_site()
    http = requests.Session()
    started = time.time()
    r = http.post(f"{SITE}/api/method/login", json={"usr": "Administrator", "pwd": ADMIN_PASSWORD}, timeout=30)
    r.raise_for_status()
    _admin_logins["sessions"].append(http.cookies.get("sid"))
    _admin_logins["logins"].append(["Administrator", started * 1000, time.time() * 1000])
    return http


def admin_logins() -> dict[str, list]:
    """The logins admin_session made in this process, for a cleanup to remove their sessions and "logged in"
    lines (Frappe keeps both after the script ends): `sessions` (sids) and `logins` ([user, from, until],
    epoch ms), as tests/bench/whatsapp_site.py's forget_logins takes them."""
    return {key: list(values) for key, values in _admin_logins.items()}


def _upsert(http: requests.Session, doctype: str, name: str, values: dict) -> dict:
    url = f"{SITE}/api/resource/{doctype}/{requests.utils.quote(name, safe='')}"
    r = http.get(url, timeout=30)
    r = http.put(url, json=values, timeout=30) if r.ok else http.post(f"{SITE}/api/resource/{doctype}", json=values, timeout=30)
    if not r.ok:
        raise RuntimeError(f"{doctype} {name}: {r.status_code} {r.text[:500]}")
    return r.json()["data"]


def configure(http: requests.Session, fake_base_url: str, api_key: str, submit_orders: bool = True) -> None:
    _upsert(http, "Voice Agent Settings", "Voice Agent Settings", {
        "enabled": 1, "ultravox_api_key": api_key, "api_base_url": fake_base_url, "tool_base_url": SITE,
        "webhook_secret": WEBHOOK_SECRET, "previous_webhook_secret": "", "allowed_origins": "https://shop.example.com",
        "rate_limit_per_hour": 100000, "max_concurrent_sessions": 100000, "max_session_duration_sec": 600,
    })
    _upsert(http, "Voice Agent Profile", PROFILE, {
        "title": PROFILE, "enabled": 1, "is_public": 1, "use_case": "General",
        "description": "Bookings, food orders and support.", "greeting": "Hello! How can I help?",
        "system_prompt": "You are the front desk of Voice Test Co. Be brief.", "voice": "Mark",
        "language_hint": "en", "temperature": 0.3, "max_duration_sec": 300,
        "submit_orders_automatically": 1 if submit_orders else 0, "appointment_duration_min": 45,
        "opening_time": "09:00", "closing_time": "17:00",
        "tools": [{"tool": t} for t in ("book_appointment", "place_restaurant_order", "create_support_ticket")],
    })
    price_list = "Standard Selling"
    for item_name, rate in MENU.items():
        code = item_name.upper().replace(" ", "-")
        _upsert(http, "Item", code, {"item_code": code, "item_name": item_name, "item_group": "All Item Groups",
                                     "stock_uom": "Nos", "is_stock_item": 0, "is_sales_item": 1, "disabled": 0})
        found = http.get(f"{SITE}/api/resource/Item Price", params={
            "filters": f'[["item_code","=","{code}"],["price_list","=","{price_list}"]]'}, timeout=30).json()["data"]
        if not found:
            r = http.post(f"{SITE}/api/resource/Item Price", json={
                "item_code": code, "price_list": price_list, "price_list_rate": rate}, timeout=30)
            r.raise_for_status()
