"""Named database locks held until the current transaction ends.

A check-then-insert (is the live-session cap reached? does this customer exist yet?) is only safe when
everyone doing the same check waits for the one before to commit. `transaction_lock(key)` takes a
named lock of the database server (MariaDB GET_LOCK, PostgreSQL advisory lock) and releases it when
the transaction commits or rolls back, so the next holder's locking reads see what the previous one
wrote. Read what the lock protects with a locking read (`for_update=True`, `FOR UPDATE`): a plain read
may use a snapshot taken before the lock was granted.
"""

from __future__ import annotations

import hashlib

import frappe
from frappe import _


class LockTimeout(frappe.ValidationError):
    http_status_code = 503


def transaction_lock(key: str, timeout_sec: int = 10) -> None:
    name = "va:" + hashlib.sha1(key.encode()).hexdigest()  # MariaDB lock names are at most 64 characters
    if frappe.db.db_type == "postgres":
        frappe.db.sql("SET LOCAL lock_timeout = %s", (f"{int(timeout_sec)}s",))
        # Released by PostgreSQL itself at the end of the transaction.
        frappe.db.sql("SELECT pg_advisory_xact_lock(hashtext(%s))", (name,))
        return
    acquired = frappe.db.sql("SELECT GET_LOCK(%s, %s)", (name, timeout_sec))[0][0]
    if acquired != 1:
        frappe.throw(_("The server is busy with the same request; please try again."), LockTimeout)

    def release() -> None:
        frappe.db.sql("SELECT RELEASE_LOCK(%s)", (name,))

    frappe.db.after_commit.add(release)
    frappe.db.after_rollback.add(release)
