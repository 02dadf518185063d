"""Voice Agent Analytics computes its total row itself (rates from the period's counts, as in the figures
above the table): Frappe's own total row averaged the profiles' rates. Frappe keeps a site's
add_total_row when it imports a report again, so switch it off here."""

import frappe


def execute() -> None:
    frappe.db.set_value("Report", "Voice Agent Analytics", "add_total_row", 0, update_modified=False)
