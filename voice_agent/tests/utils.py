"""Shared helpers of the Frappe tests: run them on any site with `allow_tests` and it is left as it was.

`VoiceAgentTestCase` runs every test inside the test class's database transaction and rolls it back,
so nothing a test writes survives it. The app commits on purpose in a few places (create_session
commits so a tool call or webhook can see the session before the request ends): inside a test those
commits become savepoints, and a rollback goes back to the last one — what they mean within one
request. Jobs and realtime messages queued for "after commit" are dropped, as on a rollback.

Concurrency is tested for real: `run_concurrently` runs callables in threads that each open their own
connection to the site and commit. What such tests create must be committed first (`committed`) and
is deleted afterwards, and singles they change are restored (`committed_single`).
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from unittest.mock import patch

import frappe
from frappe.tests.utils import FrappeTestCase
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SITE_URL = "http://va.localhost:8000"
_REQUEST_SAVEPOINT = "va_request"
_TEST_SAVEPOINT = "va_test"
# Cached documents the tests may change or create; cleared when a test class ends.
_CACHED_SINGLES = ("Voice Agent Settings", "MediaSoup WebRTC Settings", "Website Settings")


def load_fake(provider: str):
    """The loopback fake of a provider (tests/fakes/<provider>), from the repository's tests/ folder,
    which is not on the bench's path (another "tests" package shadows it there)."""
    package = "voice_agent_test_fakes"
    if package not in sys.modules:
        path = os.path.join(REPO_ROOT, "tests", "fakes", "__init__.py")
        spec = importlib.util.spec_from_file_location(package, path,
                                                      submodule_search_locations=[os.path.dirname(path)])
        module = importlib.util.module_from_spec(spec)
        sys.modules[package] = module
        spec.loader.exec_module(module)
    return importlib.import_module(f"{package}.{provider}")


@contextmanager
def http_request(
    cmd: str,
    *,
    method: str = "POST",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    ip: str = "10.9.8.7",
    query: dict[str, str] | None = None,
) -> Iterator[None]:
    """Run endpoint code as if inside a web request to /api/method/<cmd> (headers, body, IP)."""
    builder = EnvironBuilder(
        method=method, path="/api/method/" + cmd, headers=headers or {}, data=body, base_url=SITE_URL,
        query_string=query,
    )
    previous = (getattr(frappe.local, "request", None), getattr(frappe.local, "request_ip", None))
    frappe.local.request = Request(builder.get_environ())
    frappe.local.request_ip = ip
    frappe.form_dict.cmd = cmd
    try:
        yield
    finally:
        frappe.local.request, frappe.local.request_ip = previous
        frappe.form_dict.pop("cmd", None)


@contextmanager
def as_user(user: str) -> Iterator[None]:
    previous = frappe.session.user
    frappe.set_user(user)
    try:
        yield
    finally:
        frappe.set_user(previous)


def ensure_user(email: str, *roles: str) -> str:
    if not frappe.db.exists("User", email):
        frappe.get_doc({
            "doctype": "User", "email": email, "first_name": email.split("@")[0], "send_welcome_email": 0,
            "roles": [{"role": role} for role in roles],
        }).insert(ignore_permissions=True)
    return email


class VoiceAgentTestCase(FrappeTestCase):
    """Each test is rolled back; the code's commits are savepoints (see the module docstring)."""

    def assertMatchesContract(self, definition: str, value: Any) -> None:
        """`value` (an endpoint's answer, a realtime payload) is a contracts/frappe-api.schema.json `definition`."""
        from voice_agent.contracts import definition_validator

        plain = json.loads(json.dumps(value, default=str))
        errors = [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
                  for e in definition_validator("frappe-api.schema.json", definition).iter_errors(plain)]
        self.assertEqual(errors, [], f"{definition} contract")

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        # Class fixtures (users, profiles) live in the class transaction, rolled back at its end.
        cls.addClassCleanup(_clear_cached_documents)

    def setUp(self) -> None:
        super().setUp()
        db = frappe.db
        self._started = frappe.utils.now_datetime()
        db.savepoint(_TEST_SAVEPOINT)
        db.savepoint(_REQUEST_SAVEPOINT)
        real_rollback = db.rollback

        def commit() -> None:
            db.after_commit.reset()
            db.after_rollback.reset()
            db.sql("select release_all_locks()")
            db.savepoint(_REQUEST_SAVEPOINT)

        def rollback(*, save_point: str | None = None) -> None:
            if save_point:
                return real_rollback(save_point=save_point)
            db.after_commit.reset()
            real_rollback(save_point=_REQUEST_SAVEPOINT)
            db.after_rollback.run()

        patcher = patch.multiple(db, commit=commit, rollback=rollback)
        patcher.start()
        self.addCleanup(self._end_test, patcher)

    def _end_test(self, patcher) -> None:
        patcher.stop()
        frappe.set_user("Administrator")
        frappe.db.rollback(save_point=_TEST_SAVEPOINT)
        # Frappe keeps Error Log in MyISAM, outside transactions: what the test's failures logged stays.
        frappe.db.delete("Error Log", {"creation": (">=", self._started)})
        frappe.db.after_commit.reset()
        frappe.db.sql("select release_all_locks()")
        frappe.cache.delete_keys("rl:")
        frappe.local.message_log = []
        _clear_cached_documents()

    def set_single(self, doctype: str, values: dict[str, Any], passwords: dict[str, str] | None = None) -> None:
        """Change a single's values inside the test, without its validation; rolled back with the test."""
        from frappe.utils.password import remove_encrypted_password, set_encrypted_password

        for field, value in values.items():
            frappe.db.set_single_value(doctype, field, value)
        for field, value in (passwords or {}).items():
            if value:
                set_encrypted_password(doctype, doctype, value, field)
            else:
                remove_encrypted_password(doctype, doctype, field)
            frappe.db.set_single_value(doctype, field, "*" * len(value) if value else None)
        frappe.clear_document_cache(doctype, doctype)


def _clear_cached_documents() -> None:
    for doctype in _CACHED_SINGLES:
        frappe.clear_document_cache(doctype, doctype)
    frappe.clear_cache(doctype="Voice Agent Profile")


# --- concurrency ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    value: Any = None
    error: BaseException | None = None
    messages: list[str] | None = None


def run_concurrently(
    work: Callable[[int], Any],
    count: int,
    *,
    user: str = "Guest",
    request: Callable[[int], Any] | None = None,
) -> list[Outcome]:
    """Run work(i) for i in range(count) at the same moment, each in its own thread, connection and
    transaction (committed on success, rolled back on error), as concurrent requests would.

    `request(i)` may return a context manager entered around the work (e.g. `http_request(...)`).
    The caller's own transaction must hold no writes (the threads could not see them); it is ended
    afterwards, so that the caller's next reads see what the work committed."""
    if frappe.db.transaction_writes:
        raise AssertionError("commit the test's writes (Committed) before running work concurrently")
    site, sites_path = frappe.local.site, frappe.local.sites_path
    barrier = threading.Barrier(count)
    outcomes = [Outcome() for _ in range(count)]

    def run(index: int) -> None:
        frappe.init(site=site, sites_path=sites_path)
        frappe.connect()
        frappe.flags.in_test = True  # as the test runner sets it for its own connection
        try:
            frappe.set_user(user)
            context = request(index) if request else _no_context()
            with context:
                barrier.wait(timeout=30)
                try:
                    outcomes[index].value = work(index)
                    frappe.db.commit()
                except Exception as exc:
                    frappe.db.rollback()
                    outcomes[index].error = exc
            outcomes[index].messages = [str(m) for m in (frappe.local.message_log or [])]
        finally:
            frappe.destroy()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    frappe.db.rollback()
    return outcomes


@contextmanager
def _no_context() -> Iterator[None]:
    yield


class Committed:
    """Documents a concurrency test created for real, deleted (cancelled first when submitted) by
    `delete_all()` in reverse order of creation."""

    def __init__(self) -> None:
        self.docs: list[tuple[str, str]] = []

    def add(self, doctype: str, name: str) -> str:
        self.docs.append((doctype, name))
        return name

    def insert(self, values: dict[str, Any]) -> Any:
        doc = frappe.get_doc(values).insert(ignore_permissions=True)
        frappe.db.commit()
        self.add(doc.doctype, doc.name)
        return doc

    def delete_all(self) -> None:
        for doctype, name in reversed(self.docs):
            delete_for_real(doctype, name)
        self.docs.clear()


def delete_for_real(doctype: str, name: str) -> None:
    """Deletes it, and the traces Frappe keeps of a deletion: a "Deleted" line in the feed and a Deleted
    Document copy, also of what goes with it (ERPNext deletes a Lead's or Customer's own Contact)."""
    if not frappe.db.exists(doctype, name):
        return
    started = frappe.utils.now_datetime()
    doc = frappe.get_doc(doctype, name)
    if doc.meta.is_submittable and doc.docstatus == 1:
        doc.flags.ignore_permissions = True
        doc.cancel()
    frappe.delete_doc(doctype, name, force=True, ignore_permissions=True, delete_permanently=True)
    traced = (doctype, "Contact", "Address")
    frappe.db.delete("Deleted Document", {"deleted_doctype": ("in", traced), "creation": (">=", started)})
    frappe.db.delete("Comment", {"comment_type": ("in", ("Deleted", "Cancelled")), "reference_doctype": ("in", traced),
                                 "creation": (">=", started)})
    frappe.db.commit()


@contextmanager
def committed_single(doctype: str, values: dict[str, Any], passwords: dict[str, str] | None = None) -> Iterator[None]:
    """Set a single's values for real (other connections see them) and restore them exactly afterwards,
    passwords included."""
    from frappe.utils.password import (
        get_decrypted_password,
        remove_encrypted_password,
        set_encrypted_password,
    )

    before = {field: frappe.db.get_single_value(doctype, field) for field in values}
    before_passwords = {
        field: get_decrypted_password(doctype, doctype, field, raise_exception=False) for field in passwords or {}
    }
    try:
        for field, value in values.items():
            frappe.db.set_single_value(doctype, field, value, update_modified=False)
        for field, value in (passwords or {}).items():
            set_encrypted_password(doctype, doctype, value, field)
            frappe.db.set_single_value(doctype, field, "*" * len(value), update_modified=False)
        frappe.db.commit()
        frappe.clear_document_cache(doctype, doctype)
        yield
    finally:
        for field, value in before.items():
            frappe.db.set_single_value(doctype, field, value, update_modified=False)
        for field, value in before_passwords.items():
            if value:
                set_encrypted_password(doctype, doctype, value, field)
                frappe.db.set_single_value(doctype, field, "*" * len(value), update_modified=False)
            else:
                remove_encrypted_password(doctype, doctype, field)
                frappe.db.set_single_value(doctype, field, None, update_modified=False)
        frappe.db.commit()
        frappe.clear_document_cache(doctype, doctype)
