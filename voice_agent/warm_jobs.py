"""Background work that stays warm between items: a job that, done with its item, waits a moment for the
next one instead of ending.

Frappe's worker forks a new process for every job, which connects to the database and imports the job's
code before doing anything: 0.3–0.6 s on this machine (docs/benchmarks.md, WhatsApp bot). A customer
expects the bot's answer within two seconds, 0.7 s of which is the model. So a bot job, once its turn is
done, waits up to `idle_sec` for the next conversation to answer, and `submit` hands an item to such a
waiting job (a Redis list) instead of queueing a new one, or queues a new job when every waiting job
already has an item coming (a waiting job is taken off the waiting set by the submit that counts on it),
or, within `kept_here`, keeps it for the current process. The last waiting job, taking an item, has a
new job start to wait in its place while two workers are free: that job's cold start happens beside the
item's work instead of in front of the next item.

It never costs other work its worker: one worker always stays free of waiting jobs (after a busy moment
the jobs beyond that end), a waiting job leaves as soon as another job has waited a second in a queue
(one at a time: the others stay warm), and after `life_sec` in all (well inside the queue's timeout).
An item is never lost between a leaving job and a submit: a job that finds it was taken off the waiting
set waits for the item that is coming, and a leaving job takes what is left on the list. A job killed while it waits counts as waiting for
`POLL_SEC` + `GRACE_SEC` at most; what was handed to it in that moment is on the list for the next job
(and for the app's periodic sweep, see conversations.bot).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timezone
from functools import partial

import frappe
from frappe.utils.background_jobs import get_queue, get_queue_list
from rq.utils import utcparse
from rq.worker import Worker

POLL_SEC = 1  # how often a waiting job looks whether other jobs wait for its worker
GRACE_SEC = 2
# How long a job may wait in a queue for a worker before a waiting job gives way to it (one waiting job at a
# time: the scheduler queues several jobs at once every minute, which the other workers usually take).
GIVE_WAY_AFTER_SEC = 1.0
STARTUP_SEC = 3  # a job queued by `expect` counts as waiting this long before it has started


class WarmJobs:
    def __init__(self, name: str, method: str, queue: str = "short", idle_sec: float = 30, life_sec: float = 240):
        self.name = name
        self.method = method  # the job: takes `item`, calls `serve`
        self.queue = queue
        self.idle_sec = idle_sec
        self.life_sec = life_sec

    # -- where work comes from -----------------------------------------------------------------------

    def submit(self, item: str) -> None:
        """After the current transaction commits (as `enqueue_after_commit`): to a waiting job, else a new job."""
        if frappe.flags.in_test:  # a test's items stay in its own process, never reach a live worker's list
            frappe.enqueue(self.method, queue=self.queue, item=item, enqueue_after_commit=True)
            return
        frappe.db.after_commit.add(partial(self.submit_now, item))

    def submit_now(self, item: str) -> None:
        cache = frappe.cache
        waiting = cache.make_key(self._waiters)
        cache.zremrangebyscore(waiting, "-inf", time.time())  # jobs killed while they waited
        kept = (getattr(frappe.local, "warm_jobs_kept", None) or {}).get(self.name)
        if cache.zpopmin(waiting):  # this waiting job is ours: no other submit counts on it
            cache.rpush(self._items, item)
        elif kept is not None:
            kept.append(item)
        else:
            frappe.enqueue(self.method, queue=self.queue, item=item)

    @contextmanager
    def kept_here(self) -> Iterator[None]:
        """Within: an item no waiting job takes stays in this process, for `handle_kept`, instead of going to a
        new job (a web process that has just answered Meta is warm; a new job starts half a second later)."""
        kept = getattr(frappe.local, "warm_jobs_kept", None)
        if kept is None:
            kept = frappe.local.warm_jobs_kept = {}
        kept[self.name] = []
        try:
            yield
        finally:
            left = kept.pop(self.name, [])
            for item in left:  # not handled here after all: as any other
                frappe.enqueue(self.method, queue=self.queue, item=item)

    def handle_kept(self, handle: Callable[[str], None]) -> None:
        kept = (getattr(frappe.local, "warm_jobs_kept", None) or {}).get(self.name)
        while kept:
            self._handle(handle, kept.pop(0))

    def expect(self) -> None:
        """An item is on its way (a webhook is being processed): unless a job waits, one starts now, counted
        as waiting from now on, so that its start happens beside the work that leads to the item."""
        if frappe.flags.in_test:
            return
        waiting = frappe.cache.make_key(self._waiters)
        frappe.cache.zremrangebyscore(waiting, "-inf", time.time())
        if frappe.cache.zcard(waiting):
            return
        me = frappe.generate_hash(length=12)
        if self._start_standby(waiter=me):
            frappe.cache.zadd(waiting, {me: time.time() + STARTUP_SEC})

    def in_play(self) -> bool:
        """Jobs of this kind wait for items or are starting to: other long jobs should leave them the workers."""
        return bool(self._waiting() or frappe.cache.get(frappe.cache.make_key(self._starting)))

    # -- the job ---------------------------------------------------------------------------------------

    def serve(self, item: str | None, handle: Callable[[str], None], waiter: str | None = None) -> None:
        """Handle `item` (None: a job standing by), then further ones as they are submitted, until idle, out
        of time, or giving way. `waiter`: this job was counted as waiting before it started (`expect`)."""
        if item is None:
            frappe.cache.delete(frappe.cache.make_key(self._starting))
        else:
            self._handle(handle, item)
        if frappe.flags.in_test:
            return
        waiting = frappe.cache.make_key(self._waiters)
        items = frappe.cache.make_key(self._items)
        if waiter and not frappe.cache.zrem(waiting, waiter) and (popped := frappe.cache.blpop([items], GRACE_SEC)):
            self._handle(handle, popped[1].decode())  # a submit counted on this job before it started
        me = frappe.generate_hash(length=12)
        started = last_work = time.monotonic()
        while (time.monotonic() - last_work < self.idle_sec and time.monotonic() - started < self.life_sec
               and self._waiting() < _workers(self.queue) - 1 and not self._give_way()):
            frappe.cache.zadd(waiting, {me: time.time() + POLL_SEC + GRACE_SEC})
            popped = frappe.cache.blpop([items], timeout=POLL_SEC)
            if not frappe.cache.zrem(waiting, me) and not popped:
                popped = frappe.cache.blpop([items], timeout=GRACE_SEC)  # a submit took us: its item is coming
            if popped:
                self._stand_by()
                self._handle(handle, popped[1].decode())
                last_work = time.monotonic()
        while (left := frappe.cache.lpop(self._items)) is not None:
            self._handle(handle, left.decode() if isinstance(left, bytes) else left)

    def _give_way(self) -> bool:
        """Another job waits for a worker: one waiting job (not all of them at once) leaves for it."""
        return _others_queued() and bool(frappe.cache.set(frappe.cache.make_key(self._giving_way), 1, nx=True,
                                                          ex=POLL_SEC + 1))

    def _stand_by(self) -> None:
        """Taking an item, the last waiting job has a new job started to wait in its place, while two workers
        are free (one stays free for other work): the next item does not meet a cold start (it happens now,
        beside this item's work)."""
        if self._waiting() == 0:
            self._start_standby()

    def _start_standby(self, waiter: str | None = None) -> bool:
        """A job standing by, while two workers are free (one stays free for other work) and no other standby
        job is still starting: under load they would queue behind each other and start (and end) for nothing."""
        if _idle_workers(self.queue) < 2:
            return False
        if not frappe.cache.set(frappe.cache.make_key(self._starting), 1, nx=True, ex=STARTUP_SEC * 4):
            return False
        frappe.enqueue(self.method, queue=self.queue, item=None, waiter=waiter)
        return True

    def _handle(self, handle: Callable[[str], None], item: str) -> None:
        # As a new job would start: nothing read or cached by the last item carries over.
        frappe.db.rollback()
        frappe.local.cache = {}
        try:
            handle(item)
            frappe.db.commit()
        except Exception:
            frappe.db.rollback()
            frappe.log_error(title=f"{self.name}: {item}")

    def _waiting(self) -> int:
        return frappe.cache.zcount(frappe.cache.make_key(self._waiters), time.time(), "+inf")

    @property
    def _items(self) -> str:
        return f"warm-jobs:{self.name}:items"

    @property
    def _giving_way(self) -> str:
        return f"warm-jobs:{self.name}:giving-way"

    @property
    def _starting(self) -> str:
        return f"warm-jobs:{self.name}:standby-starting"

    @property
    def _waiters(self) -> str:
        return f"warm-jobs:{self.name}:waiting"


def _workers(queue: str) -> int:
    return Worker.count(queue=get_queue(queue))


def _idle_workers(queue: str) -> int:
    return sum(worker.get_state() == "idle" for worker in Worker.all(queue=get_queue(queue)))


def _others_queued() -> bool:
    """A job that has waited in a queue for a while (this worker may be the only one that would run it; a
    job that another worker takes soon does not count), this job's own kind included: a new job of ours
    means a submit found nobody waiting, and it should not wait for us."""
    for name in get_queue_list():
        queue = get_queue(name)
        first = queue.get_job_ids(0, 0)
        if not first:
            continue
        enqueued_at = queue.connection.hget(queue.job_class.key_for(first[0]), "enqueued_at")
        if enqueued_at is None or time.time() - _timestamp(enqueued_at) > GIVE_WAY_AFTER_SEC:
            return True
    return False


def _timestamp(rq_time: bytes) -> float:
    return utcparse(rq_time.decode()).replace(tzinfo=timezone.utc).timestamp()
