# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The renewal jobs run by two job runners at once, and a job killed mid-batch.

Real, separate transactions, as in the engine's own concurrency tests
(``portal_account/tests/test_renewal_faults.py``), whose data and checks are
reused: the data is committed by the test and deleted at the end, and the
engine only sees it. Jobs are run the way queue_job's controller runs them for
its job runner (acquire, perform, mark done), each runner in a thread with its
own cursor.
"""

import queue
import threading
import time
from contextlib import contextmanager
from unittest.mock import patch
from uuid import uuid4

from freezegun import freeze_time

from odoo import SUPERUSER_ID, api, fields
from odoo.modules.registry import Registry
from odoo.tests import BaseCase, get_db_name, tagged

from odoo.addons.portal_account.tests import test_renewal_faults
from odoo.addons.portal_account.tests.common import card_network_answers, model_class
from odoo.addons.queue_job.controllers.main import RunJobController
from odoo.addons.queue_job.job import Job

ENGINE_LOGGER = "odoo.addons.portal_account"


class WorkerKilled(BaseException):
    """The server running a job stops dead: nothing catches this, nothing
    after it runs, and what was not committed is lost."""


@tagged("post_install", "-at_install")
class TestRenewalQueueConcurrency(BaseCase):
    DAY = test_renewal_faults.TestRenewalConcurrency.DAY

    # The engine's concurrency tests' data (four card subscriptions and one
    # without a card, committed) and checks.
    _create_data = test_renewal_faults.TestRenewalConcurrency._create_data
    _delete_data = test_renewal_faults.TestRenewalConcurrency._delete_data
    _subscriptions_state = (
        test_renewal_faults.TestRenewalConcurrency._subscriptions_state
    )
    _assert_one_period_each = (
        test_renewal_faults.TestRenewalConcurrency._assert_one_period_each
    )

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry = Registry(get_db_name())
        cls.tag = f"portal_account race {uuid4().hex[:8]}"

    def setUp(self):
        super().setUp()
        self.addCleanup(self._delete_data)
        self.addCleanup(self._delete_jobs)
        with self.registry.cursor() as cr, freeze_time(self.DAY):
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            self.ids = self._create_data(env)
        SaleOrder = model_class(self.registry, "sale.order")
        domain = SaleOrder._renewal_due_domain
        ids = self.ids["subscriptions"]
        for patcher in (
            card_network_answers(self.registry),
            patch.object(
                SaleOrder,
                "_renewal_due_domain",
                lambda model, today: [("id", "in", ids)] + domain(model, today),
            ),
            patch.object(
                SaleOrder,
                "_renewal_warn_card_expiry",
                lambda model, today: model.browse(),
            ),
        ):
            patcher.start()
            self.addCleanup(patcher.stop)

    def _delete_jobs(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["queue.job"].search(
                [("method_name", "=", "_subscription_renewal_job")]
            ).unlink()

    # ------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------

    @contextmanager
    def _env(self):
        with self.registry.cursor() as cr:
            yield api.Environment(cr, SUPERUSER_ID, {})

    def _run_scheduled_action(self, batch_size):
        """The scheduled action, committed: return the uuids of its jobs."""
        with self._env() as env, freeze_time(self.DAY):
            jobs = env["sale.order"]._cron_subscription_renewal(batch_size=batch_size)
            self.assertTrue(jobs)
        return self._enqueue_pending()

    def _enqueue_pending(self):
        """What the job runner does before it asks a server to run a job."""
        with self._env() as env:
            records = env["queue.job"].search(
                [
                    ("method_name", "=", "_subscription_renewal_job"),
                    ("state", "=", "pending"),
                ],
                order="id",
            )
            for record in records:
                job = Job.load(env, record.uuid)
                job.set_enqueued()
                job.store()
            return records.mapped("uuid")

    def _run_job(self, uuid):
        """Run one job as queue_job's controller does; True if it ran.

        In a thread of its own, as a server runs a request: the engine
        commits its units of work there (never in a test's own thread).
        """
        outcome = {}

        def run():
            try:
                with self._env() as env, freeze_time(self.DAY):
                    job = RunJobController._acquire_job(env, uuid)
                    if job:
                        RunJobController._runjob(env, job)
                    outcome["ran"] = bool(job)
            except BaseException as error:  # noqa: BLE001 (raised below)
                outcome["error"] = error

        thread = threading.Thread(target=run)
        thread.start()
        thread.join(120)
        if "error" in outcome:
            raise outcome["error"]
        return outcome["ran"]

    def _job_states(self, uuids):
        with self._env() as env:
            return env["queue.job"].search([("uuid", "in", uuids)]).mapped("state")

    def _send_left_notices(self):
        """The notices scheduled action, which the engine triggers."""
        with self._env() as env, freeze_time(self.DAY):
            env = env(context={"subscription_renewal_commit": True})
            env["sale.order"]._cron_subscription_send_notices()

    # ------------------------------------------------------------
    # Tests
    # ------------------------------------------------------------

    def test_two_runners_on_overlapping_batches(self):
        """Two runners work the same subscriptions, twice enqueued, at once."""
        # The action run twice with different batch sizes: every subscription
        # is in two jobs (nothing dedups them), which two runners take at once.
        uuids = self._run_scheduled_action(batch_size=2)
        uuids += self._run_scheduled_action(batch_size=3)
        self.assertEqual(len(uuids), 5)
        todo = queue.Queue()
        for uuid in uuids:
            todo.put(uuid)
        barrier = threading.Barrier(2, timeout=30)
        errors, ran = [], []

        def slow_charge(tx, call):
            time.sleep(0.2)  # long enough for the runners to overlap
            return call()

        def runner():
            try:
                barrier.wait()
                while True:
                    try:
                        uuid = todo.get_nowait()
                    except queue.Empty:
                        return
                    ran.append(self._run_job(uuid))
            except Exception as error:  # noqa: BLE001 (reported below)
                errors.append(error)

        with (
            test_renewal_faults.ProviderSpy(self.registry) as spy,
            freeze_time(self.DAY),
        ):
            spy.fault = slow_charge
            with self.assertNoLogs(ENGINE_LOGGER, "ERROR"):
                threads = [threading.Thread(target=runner) for _index in range(2)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(120)
            spy.fault = None
            # What a job left (rows the other runner held) is done by the
            # next run of the scheduled action.
            with self._env() as env, freeze_time(self.DAY):
                left = env["sale.order"].search_count(
                    env["sale.order"]._renewal_due_domain(fields.Date.today())
                )
            if left:
                for uuid in self._run_scheduled_action(batch_size=5):
                    self._run_job(uuid)
            # A notice whose row the other runner held at that moment is sent
            # by the notices scheduled action, which the engine triggers.
            self._send_left_notices()
        self.assertEqual(errors, [])
        self.assertEqual(ran, [True] * 5)
        self.assertEqual(set(self._job_states(uuids)), {"done"})
        self._assert_one_period_each(spy)

    def test_job_killed_mid_batch_then_retried(self):
        """The server dies while paying the charges; queue_job runs it again."""
        (uuid,) = self._run_scheduled_action(batch_size=5)
        Transaction = model_class(self.registry, "payment.transaction")
        post_process = Transaction._renewal_post_process
        state = {"killed": False}

        def killed_during_post_processing(transactions):
            if not state["killed"]:
                state["killed"] = True
                raise WorkerKilled
            return post_process(transactions)

        with (
            test_renewal_faults.ProviderSpy(self.registry) as spy,
            freeze_time(self.DAY),
        ):
            with (
                patch.object(
                    Transaction,
                    "_renewal_post_process",
                    killed_during_post_processing,
                ),
                self.assertRaises(WorkerKilled),
            ):
                self._run_job(uuid)
            # Dead: the job stays started, its lock released with its
            # connection; the runner's dead-job requeuer sets it pending.
            self.assertEqual(self._job_states([uuid]), ["started"])
            with self._env() as env:
                job = Job.load(env, uuid)
                self.assertTrue(job.lock(), "the dead job's lock is free")
                job.set_pending(reset_retry=False)
                job.store()
            self.assertEqual(self._enqueue_pending(), [uuid])
            with self.assertNoLogs(ENGINE_LOGGER, "ERROR"):
                self.assertTrue(self._run_job(uuid))
            # The charges went through before the server died: none is sent
            # again; core's scheduled post-processing makes their payments,
            # which move the subscriptions on.
            with self._env() as env, freeze_time(self.DAY):
                env["payment.transaction"].search(
                    [
                        ("partner_id", "=", self.ids["partner"]),
                        ("is_post_processed", "=", False),
                    ]
                )._cron_post_process()
            self._send_left_notices()
        self.assertEqual(self._job_states([uuid]), ["done"])
        self._assert_one_period_each(spy)
