"""Named database locks held until the current transaction ends, and reads that see the latest commits.

A check-then-insert (is the live-session cap reached? does this customer exist yet?) is only safe when
everyone doing the same check waits for the one before to commit. `transaction_lock(key)` takes a
named lock of the database server (MariaDB GET_LOCK, PostgreSQL advisory lock) and releases it when
the transaction commits or rolls back.

Under REPEATABLE READ (MariaDB's default, which Frappe keeps) a plain read uses a snapshot taken at the
transaction's first read, possibly before the lock was granted: the record the previous holder created
is invisible to it — and to ERPNext's own link checks. Read what a lock protects with a locking read
(`for_update=True`), or call `read_committed()` first in requests and jobs that create records others
may be creating at the same moment.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager

import frappe
from frappe import _


class LockTimeout(frappe.ValidationError):
    http_status_code = 503


def transaction_lock(key: str, timeout_sec: int = 10) -> None:
    transaction_locks([key], timeout_sec)


def transaction_locks(keys: list[str] | set[str], timeout_sec: int = 10) -> None:
    """Several locks in one round trip, taken in a fixed order (two callers that share keys cannot each
    hold one the other waits for)."""
    names = sorted({"va:" + hashlib.sha1(key.encode()).hexdigest() for key in keys})  # MariaDB: at most 64 chars
    if not names:
        return
    if frappe.db.db_type == "postgres":
        frappe.db.sql("SET LOCAL lock_timeout = %s", (f"{int(timeout_sec)}s",))
        for name in names:  # released by PostgreSQL itself at the end of the transaction
            frappe.db.sql("SELECT pg_advisory_xact_lock(hashtext(%s))", (name,))
        return
    # MariaDB evaluates the select list left to right: each GET_LOCK waits in turn, in sorted order.
    acquired = frappe.db.sql("SELECT " + ", ".join(["GET_LOCK(%s, %s)"] * len(names)),
                             [v for name in names for v in (name, timeout_sec)])[0]
    held = [name for name, got in zip(names, acquired, strict=True) if got == 1]

    def release() -> None:
        if held:
            frappe.db.sql("SELECT " + ", ".join(["RELEASE_LOCK(%s)"] * len(held)), held)

    if len(held) < len(names):
        release()
        frappe.throw(_("The server is busy with the same request; please try again."), LockTimeout)
    frappe.db.after_commit.add(release)
    frappe.db.after_rollback.add(release)


def read_committed() -> None:
    """From the next statement on, each read sees what other transactions have committed.

    Commits the current transaction: call it before this request or job has written anything. The
    setting lasts for the connection, which Frappe closes at the end of each request and job."""
    if frappe.db.db_type == "postgres":
        frappe.db.commit()
        frappe.db.sql("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        return
    frappe.db.sql("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
    frappe.db.commit()


@contextmanager
def held_lock(key: str, timeout_sec: int) -> Iterator[bool]:
    """A named lock held across commits until the block ends (``transaction_lock`` ends with the
    transaction). Yields whether it was granted within ``timeout_sec``; the block runs either way and
    decides what to do without it."""
    name = "va:" + hashlib.sha1(key.encode()).hexdigest()
    if frappe.db.db_type == "postgres":
        granted = bool(_poll_pg_lock(name, timeout_sec))
    else:
        granted = frappe.db.sql("SELECT GET_LOCK(%s, %s)", (name, timeout_sec))[0][0] == 1
    try:
        yield granted
    finally:
        if granted:
            if frappe.db.db_type == "postgres":
                frappe.db.sql("SELECT pg_advisory_unlock(hashtext(%s))", (name,))
            else:
                frappe.db.sql("SELECT RELEASE_LOCK(%s)", (name,))


def _poll_pg_lock(name: str, timeout_sec: int) -> bool:
    deadline = time.monotonic() + timeout_sec
    while True:
        if frappe.db.sql("SELECT pg_try_advisory_lock(hashtext(%s))", (name,))[0][0]:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
