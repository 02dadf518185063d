"""Voice Session secret hashes become Password fields: move the stored hashes out of the document
into Frappe's encrypted password store, so that no API returns them."""

import frappe
from frappe.utils.password import set_encrypted_password

FIELDS = ("tool_secret_hash", "client_token_hash")


def execute() -> None:
    for field in FIELDS:
        rows = frappe.db.sql(
            f"""SELECT name, `{field}` FROM `tabVoice Session`
            WHERE IFNULL(`{field}`, '') != '' AND `{field}` NOT LIKE '*%%'"""
        )
        for name, value in rows:
            set_encrypted_password("Voice Session", name, value, field)
            frappe.db.sql(
                f"UPDATE `tabVoice Session` SET `{field}` = %s WHERE name = %s", ("*" * len(value), name)
            )
