import time
from datetime import datetime, timedelta, timezone
from unittest.mock import patch

import frappe
from frappe.tests.utils import FrappeTestCase

from voice_agent import warm_jobs
from voice_agent.warm_jobs import WarmJobs

METHOD = "voice_agent.tests.test_warm_jobs.job"


class TestWarmJobs(FrappeTestCase):
    def setUp(self):
        self.jobs = WarmJobs(f"test-{frappe.generate_hash(length=8)}", METHOD, idle_sec=0.2)
        self.waiters = frappe.cache.make_key(self.jobs._waiters)

    def tearDown(self):
        frappe.cache.delete(frappe.cache.make_key(self.jobs._items), self.waiters,
                            frappe.cache.make_key(self.jobs._starting), frappe.cache.make_key(self.jobs._giving_way))

    def submit(self, *items: str) -> list:
        with patch("frappe.enqueue") as enqueue:
            for item in items:
                self.jobs.submit_now(item)
        return [call.kwargs["item"] for call in enqueue.call_args_list]

    def serve(self, item: str, others_queued: bool = False, workers: int = 4) -> list[str]:
        handled: list[str] = []
        with patch.dict(frappe.flags, {"in_test": False}), \
                patch("voice_agent.warm_jobs._others_queued", return_value=others_queued), \
                patch("voice_agent.warm_jobs._workers", return_value=workers):
            self.jobs.serve(item, handled.append)
        return handled

    def test_with_no_job_waiting_each_item_gets_a_job_and_nothing_stays_on_the_list(self):
        self.assertEqual(self.submit("a", "b"), ["a", "b"])
        self.assertEqual(frappe.cache.llen(self.jobs._items), 0)

    def test_waiting_jobs_get_the_items_then_stop_when_idle(self):
        frappe.cache.zadd(self.waiters, {"one": time.time() + 3, "two": time.time() + 3})
        self.assertEqual(self.submit("b", "c"), [])
        self.assertEqual(self.serve("a"), ["a", "b", "c"])
        self.assertEqual(frappe.cache.zcard(self.waiters), 0, "it took itself off the waiting set")
        self.assertEqual(frappe.cache.llen(self.jobs._items), 0)

    def test_a_job_ends_when_enough_others_wait(self):
        # One worker stays free of waiting jobs.
        frappe.cache.zadd(self.waiters, {"one": time.time() + 30, "two": time.time() + 30})
        started = time.monotonic()
        self.assertEqual(self.serve("a", workers=3), ["a"])
        self.assertLess(time.monotonic() - started, 0.5, "it did not wait for an item")
        self.assertEqual(frappe.cache.zcard(self.waiters), 2)

    def test_a_waiting_job_counts_for_one_item_only(self):
        # The second item would wait behind the first one's whole turn: it gets a job of its own.
        frappe.cache.zadd(self.waiters, {"one": time.time() + 3})
        self.assertEqual(self.submit("a", "b"), ["b"])
        self.assertEqual(frappe.cache.lrange(self.jobs._items, 0, -1), [b"a"])

    def test_one_waiting_job_at_a_time_gives_way(self):
        with patch("voice_agent.warm_jobs._others_queued", return_value=True):
            self.assertEqual([self.jobs._give_way() for _ in range(3)], [True, False, False])
        with patch("voice_agent.warm_jobs._others_queued", return_value=False):
            frappe.cache.delete(frappe.cache.make_key(self.jobs._giving_way))
            self.assertFalse(self.jobs._give_way())

    def test_a_job_that_gives_way_still_takes_what_was_handed_to_it(self):
        frappe.cache.zadd(self.waiters, {"someone": time.time() + 3})
        self.submit("b")
        self.assertEqual(self.serve("a", others_queued=True), ["a", "b"])

    def test_the_last_waiting_job_taking_an_item_has_another_stand_by_while_two_workers_are_free(self):
        for waiting, idle_workers, standby in ((0, 2, [None]), (0, 1, []), (0, 0, []), (1, 3, [])):
            frappe.cache.delete(self.waiters, frappe.cache.make_key(self.jobs._starting))
            if waiting:
                frappe.cache.zadd(self.waiters, {"other": time.time() + 3})
            with patch("voice_agent.warm_jobs._idle_workers", return_value=idle_workers), \
                    patch("frappe.enqueue") as enqueue:
                self.jobs._stand_by()
            self.assertEqual([c.kwargs["item"] for c in enqueue.call_args_list], standby, (waiting, idle_workers))

    def test_a_job_expected_to_be_needed_starts_counted_as_waiting_and_gets_the_item(self):
        with patch.dict(frappe.flags, {"in_test": False}), patch("frappe.enqueue") as enqueue, \
                patch("voice_agent.warm_jobs._idle_workers", return_value=2):
            self.jobs.expect()
            self.jobs.expect()  # one is enough
        self.assertEqual(len(enqueue.call_args_list), 1)
        standby = enqueue.call_args.kwargs
        self.assertIsNone(standby["item"])
        self.assertEqual(self.submit("a"), [], "the item goes to the job that is starting")
        handled: list[str] = []
        with patch.dict(frappe.flags, {"in_test": False}), \
                patch("voice_agent.warm_jobs._others_queued", return_value=True), \
                patch("voice_agent.warm_jobs._workers", return_value=4):
            self.jobs.serve(None, handled.append, standby["waiter"])
        self.assertEqual(handled, ["a"])

    def test_no_job_is_started_to_stand_by_while_one_is_starting_or_no_worker_is_free(self):
        with patch.dict(frappe.flags, {"in_test": False}), patch("frappe.enqueue") as enqueue:
            with patch("voice_agent.warm_jobs._idle_workers", return_value=1):
                self.jobs.expect()
            self.assertEqual(enqueue.call_count, 0, "the last free worker stays free")
            with patch("voice_agent.warm_jobs._idle_workers", return_value=5):
                self.jobs._stand_by()
                frappe.cache.delete(self.waiters)  # its place in the queue expired: still starting
                self.jobs.expect()
                self.jobs._stand_by()
        self.assertEqual(enqueue.call_count, 1, "one standby job at a time while it starts")

    def test_in_play_while_a_job_waits_or_is_starting_to(self):
        self.assertFalse(self.jobs.in_play())
        frappe.cache.zadd(self.waiters, {"killed": time.time() - 0.1})
        self.assertFalse(self.jobs.in_play(), "a job past its deadline does not count")
        frappe.cache.zadd(self.waiters, {"one": time.time() + 3})
        self.assertTrue(self.jobs.in_play())
        frappe.cache.delete(self.waiters)
        with patch.dict(frappe.flags, {"in_test": False}), patch("frappe.enqueue"), \
                patch("voice_agent.warm_jobs._idle_workers", return_value=2):
            self.jobs._start_standby()
        frappe.cache.delete(self.waiters)
        self.assertTrue(self.jobs.in_play(), "a standby job is starting")

    def test_an_item_no_job_waits_for_can_be_kept_in_this_process(self):
        handled: list[str] = []
        with patch("frappe.enqueue") as enqueue:
            with self.jobs.kept_here():
                self.jobs.submit_now("a")
                self.jobs.handle_kept(handled.append)
                frappe.cache.zadd(self.waiters, {"someone": time.time() + 3})
                self.jobs.submit_now("b")  # a waiting job takes it
                frappe.cache.delete(self.waiters)
                self.jobs.submit_now("c")  # kept, but not handled here: it gets a job when the block ends
            self.assertEqual(handled, ["a"])
            self.assertEqual([call.kwargs["item"] for call in enqueue.call_args_list], ["c"])
            self.jobs.submit_now("d")  # outside the block: a job
        self.assertEqual([call.kwargs["item"] for call in enqueue.call_args_list], ["c", "d"])
        self.assertEqual(frappe.cache.lrange(self.jobs._items, 0, -1), [b"b"])

    def test_a_job_killed_while_waiting_stops_counting_after_its_deadline(self):
        frappe.cache.zadd(self.waiters, {"killed": time.time() - 0.1})
        self.assertEqual(self.submit("a"), ["a"])

    def test_an_item_that_fails_is_logged_and_the_next_is_handled(self):
        frappe.cache.zadd(self.waiters, {"someone": time.time() + 3})
        self.submit("b")
        handled = []

        def handle(item: str) -> None:
            if item == "a":
                raise ValueError("broken")
            handled.append(item)

        with patch.dict(frappe.flags, {"in_test": False}), \
                patch("voice_agent.warm_jobs._others_queued", return_value=False), \
                patch("voice_agent.warm_jobs._workers", return_value=4), \
                patch("frappe.log_error") as log_error:
            self.jobs.serve("a", handle)
        self.assertEqual(handled, ["b"])
        log_error.assert_called_once()

    def test_a_waiting_job_gives_way_to_a_job_no_other_worker_took_soon(self):
        def rq_time(seconds_ago: float) -> bytes:
            return (datetime.now(timezone.utc) - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%S.%fZ").encode()

        # a send or a user's background work waits about a second at most
        for queue_name, waited, gives_way in (("short", 0.0, False), ("short", 1.5, True), ("default", 0.5, False),
                                              ("default", 1.5, True), ("long", 6.0, True)):
            queue = frappe.utils.background_jobs.get_queue(queue_name)
            with patch.object(queue, "get_job_ids", return_value=["a-job"]), \
                    patch("voice_agent.warm_jobs.get_queue", return_value=queue), \
                    patch("voice_agent.warm_jobs.get_queue_list", return_value=[queue_name]), \
                    patch.object(queue.connection, "hget", return_value=rq_time(waited)):
                self.assertEqual(warm_jobs._others_queued(), gives_way, (queue_name, waited))
