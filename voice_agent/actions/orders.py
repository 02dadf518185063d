"""place_restaurant_order: a Sales Order at the selling price list for the items the caller named
(matched to the menu by name), delivered today or on a later date, submitted if the profile says so."""

from __future__ import annotations

from datetime import date
from typing import Any

import frappe
from frappe import _
from frappe.utils import fmt_money, getdate, nowdate

from voice_agent.actions.base import Refusal, ToolResult
from voice_agent.agent.matching import match_items
from voice_agent.parties import find_or_create_customer


def place_order(args: dict[str, Any], agent, doctype: str) -> ToolResult:
    price_list = frappe.db.get_single_value("Selling Settings", "selling_price_list") or "Standard Selling"
    catalogue = _sellable_items()
    wanted = args["items"]
    matches = match_items([w["item"] for w in wanted], {name: code for name, code in catalogue.items()})
    unsure = [m for m in matches if m.item is None]
    if unsure:
        first = unsure[0]
        if first.suggestions:
            raise Refusal(_("I am not sure what you mean by {0}. Did you mean {1}?").format(
                first.requested, _(" or ").join(first.suggestions)))
        raise Refusal(_("Sorry, {0} is not on our menu.").format(first.requested))

    company = _default_company()
    delivery = _delivery_date(args.get("delivery_date"))
    prices = _prices([m.item for m in matches], price_list)
    missing = [m.requested for m in matches if m.item not in prices]
    if missing:
        raise Refusal(_("Sorry, {0} cannot be ordered right now.").format(missing[0]))

    customer = find_or_create_customer(args["customer_name"], args["phone"], None)
    order = frappe.get_doc({
        "doctype": "Sales Order", "customer": customer, "company": company, "order_type": "Sales",
        "transaction_date": nowdate(), "delivery_date": delivery, "selling_price_list": price_list,
        "ignore_pricing_rule": 0,
        "items": [
            {"item_code": m.item, "qty": w["qty"], "rate": prices[m.item], "delivery_date": delivery}
            for m, w in zip(matches, wanted, strict=True)
        ],
    })
    order.insert(ignore_permissions=True)
    if args.get("notes"):
        order.add_comment("Comment", frappe.utils.escape_html(args["notes"]))
    if agent.submit_orders_automatically:
        order.submit()
    total = fmt_money(order.grand_total, currency=order.currency)
    reply = _("Your order {0} is placed for {1}. The total is {2}.").format(
        order.name, _("today") if getdate(delivery) == getdate(nowdate()) else getdate(delivery).strftime("%A %d %B"),
        total)
    return ToolResult(reply, "Sales Order", order.name, "Order", ("Customer", customer))


def _sellable_items() -> dict[str, str]:
    rows = frappe.get_all("Item", filters={"disabled": 0, "is_sales_item": 1, "has_variants": 0},
                          fields=["item_code", "item_name"], limit_page_length=5000)
    catalogue: dict[str, str] = {}
    for row in rows:
        catalogue.setdefault(row.item_name or row.item_code, row.item_code)
    return catalogue


def _prices(item_codes: list[str], price_list: str) -> dict[str, float]:
    rows = frappe.get_all("Item Price", filters={"price_list": price_list, "selling": 1,
                          "item_code": ("in", item_codes)}, fields=["item_code", "price_list_rate", "valid_from"],
                          order_by="valid_from desc")
    today = getdate(nowdate())
    prices: dict[str, float] = {}
    for row in rows:
        if row.valid_from and getdate(row.valid_from) > today:
            continue
        prices.setdefault(row.item_code, row.price_list_rate)
    return prices


def _default_company() -> str:
    company = frappe.db.get_single_value("Global Defaults", "default_company")
    company = company or frappe.db.get_value("Company", {}, "name", order_by="creation asc")
    if not company:
        raise Refusal(_("Orders cannot be taken yet because no company is set up."))
    return company


def _delivery_date(requested: str | None) -> date:
    today = getdate(nowdate())  # the site's time zone
    if not requested:
        return today
    wanted = getdate(requested)
    if wanted < today:
        raise Refusal(_("That date has already passed. Would you like it today instead?"))
    return wanted
