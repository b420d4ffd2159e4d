# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Batches and units of work of the renewal engine.

The engine's steps read as domain code; how a batch is split, committed and
isolated lives here, once:

- ``Batches`` searches the due records batch after batch within a time budget
  and reports the progress to the job runner, which calls again for the rest;
- ``work_units`` yields one unit for a whole batch and, if that unit fails,
  one unit per record, so that one record at fault holds back no other;
- a ``WorkUnit`` is committed alone, or undone alone. It commits only when the
  context has ``subscription_renewal_commit``, which the scheduled action sets
  and tests never do; elsewhere it is a savepoint.
"""

import logging
import threading
import time

_logger = logging.getLogger(__name__)

COMMIT_KEY = "subscription_renewal_commit"


def engine_env(records):
    """``records`` as the renewal engine works on them.

    ``subscription_renewal`` marks the engine's own calls (fast paths that must
    equal core's are taken only under it); outside tests, every unit of work
    commits.
    """
    context = {"subscription_renewal": True}
    if not getattr(threading.current_thread(), "testing", False):
        context[COMMIT_KEY] = True
    return records.with_context(**context)


class WorkUnit:
    """A context manager: its body is committed alone, or undone and logged.

    A failure does not propagate: ``failed`` tells, and the caller goes on
    with the other units.
    """

    def __init__(self, records):
        self.records = records
        self.failed = False
        self._savepoint = None

    @property
    def _commits(self):
        return bool(self.records.env.context.get(COMMIT_KEY))

    def __enter__(self):
        if not self._commits:
            self._savepoint = self.records.env.cr.savepoint()
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        cr = self.records.env.cr
        if self._savepoint is not None:
            self._savepoint.__exit__(exc_type, exc_value, traceback)
        elif exc_type is None:
            # The engine's unit of work, in the batched scheduled action only.
            cr.commit()  # pylint: disable=invalid-commit
        else:
            cr.rollback()
        if exc_type is None:
            return False
        if not issubclass(exc_type, Exception):
            return False
        self.failed = True
        if len(self.records) > 1:
            _logger.warning(
                "%s %s failed: retried one by one.",
                self.records._description,
                self.records.ids,
                exc_info=(exc_type, exc_value, traceback),
            )
        else:
            _logger.error(
                "%s %s failed.",
                self.records._description,
                self.records.sudo().display_name,
                exc_info=(exc_type, exc_value, traceback),
            )
        return True


def work_units(records):
    """Yield a unit for all ``records``, then, if it failed, one per record."""
    unit = WorkUnit(records)
    yield unit
    if unit.failed and len(records) > 1:
        for record in records:
            # A unit that commits empties the cache: each record reads itself
            # alone rather than the whole batch again.
            yield WorkUnit(record.with_prefetch())


class Batches:
    """The records of ``domain``, batch after batch, within a time budget.

    A record the caller is not ``done`` with is left to the next run. Once the
    budget is spent or nothing is left, ``notify_progress`` tells the job
    runner how many were done and how many remain, so that it calls again.
    """

    def __init__(self, model, domain, batch_size, order="id", budget=240):
        self.model = model
        self.domain = domain
        self.batch_size = batch_size
        self.order = order
        self.deadline = time.monotonic() + budget
        self.done = 0
        self._left_ids = []

    def __iter__(self):
        while time.monotonic() < self.deadline:
            batch = self.model.search(
                self.domain + [("id", "not in", self._left_ids)],
                limit=self.batch_size,
                order=self.order,
            )
            if not batch:
                return
            self._batch_done = batch.browse()
            yield batch
            self.done += len(self._batch_done)
            self._left_ids += (batch - self._batch_done).ids

    def mark_done(self, records):
        """Record that the current batch is done with ``records``."""
        self._batch_done |= records

    def notify_progress(self):
        remaining = self.model.search_count(
            self.domain + [("id", "not in", self._left_ids)]
        )
        self.model.env["ir.cron"]._notify_progress(done=self.done, remaining=remaining)
        return self.done
