# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date
from unittest.mock import patch

from freezegun import freeze_time

from odoo import SUPERUSER_ID
from odoo.tests import tagged

from odoo.addons.portal_account.tests.common import SubscriptionCommon
from odoo.addons.queue_job.job import Job

from ..models.sale_order import RENEWAL_CHANNEL

PAID_STATES = ("paid", "in_payment")


@tagged("post_install", "-at_install")
class TestRenewalQueue(SubscriptionCommon):
    """The scheduled action enqueues the renewals; the jobs renew."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with freeze_time("2026-01-01"):
            cls.card_subscriptions = cls.env["sale.order"]
            for _index in range(3):
                cls.card_subscriptions |= cls._create_subscription(
                    token=cls._create_token()
                )
            cls.grace_subscriptions = cls._create_subscription()
            cls.grace_subscriptions |= cls._create_subscription()
        cls.subscriptions = cls.card_subscriptions | cls.grace_subscriptions
        # The scheduled action's user (its record has none: the superuser).
        cls.cron_env = cls.env(user=SUPERUSER_ID)
        # The engine sees this test's subscriptions only (demo data has more).
        SaleOrder = type(cls.env["sale.order"])
        domain = SaleOrder._renewal_due_domain
        ids = cls.subscriptions.ids
        cls.startClassPatcher(
            patch.object(
                SaleOrder,
                "_renewal_due_domain",
                lambda model, today: [("id", "in", ids)] + domain(model, today),
            )
        )

    def _renewal_jobs(self):
        return self.cron_env["queue.job"].search(
            [
                ("model_name", "=", "sale.order"),
                ("method_name", "=", "_subscription_renewal_job"),
            ],
            order="id",
        )

    def _enqueue(self, batch_size=2):
        with freeze_time("2026-01-01"):
            return self.cron_env["sale.order"]._cron_subscription_renewal(
                batch_size=batch_size
            )

    def _perform(self, job_records):
        """Run the jobs' function as a job runner does, in the test's transaction.

        (Their own cursor, which ``allow_commit`` gives them, would not see the
        test's data: the jobs run with real commits in the concurrency tests.)
        """
        results = []
        with freeze_time("2026-01-01"):
            for record in job_records:
                job = Job.load(self.cron_env, record.uuid)
                results.append(job.func(*job.args, **job.kwargs))
        self.env.invalidate_all()
        return results

    def _assert_renewed_once(self):
        for subscription in self.card_subscriptions:
            invoice = self._period_invoices(subscription)
            self.assertEqual(len(invoice), 1, subscription.name)
            self.assertIn(invoice.payment_state, PAID_STATES, subscription.name)
            self.assertEqual(self._transactions(invoice).mapped("state"), ["done"])
            self.assertEqual(subscription.subscription_state, "in_progress")
            self.assertEqual(subscription.next_invoice_date, date(2026, 2, 1))
            receipts = self._queued_mails(
                subscription, "mail_template_subscription_payment_done"
            )
            self.assertEqual(len(receipts), 1, subscription.name)
        for subscription in self.grace_subscriptions:
            self.assertEqual(subscription.subscription_state, "to_renew")
            self.assertEqual(subscription.renewal_deadline, date(2026, 1, 8))
            self.assertFalse(self._period_invoices(subscription))
            notices = self._queued_mails(
                subscription, "mail_template_subscription_to_renew"
            )
            self.assertEqual(len(notices), 1, subscription.name)

    def test_cron_enqueues_batches_on_its_channel(self):
        """The scheduled action renews nothing itself: one job per batch."""
        self.assertEqual(self._enqueue(batch_size=2), 3)
        jobs = [Job.load(self.cron_env, record.uuid) for record in self._renewal_jobs()]
        batches = [job.recordset for job in jobs]
        self.assertEqual(self.env["sale.order"].union(*batches), self.subscriptions)
        self.assertEqual([len(batch) for batch in batches], [2, 2, 1])
        for job in jobs:
            self.assertEqual(job.channel, RENEWAL_CHANNEL)
            self.assertEqual(job.args, (date(2026, 1, 1),))
            self.assertEqual(job.state, "pending")
            self.assertTrue(job.identity_key)
        self.assertFalse(
            self.env["account.move"].search_count(
                [("subscription_id", "in", self.subscriptions.ids)]
            )
        )
        self.assertEqual(
            set(self.subscriptions.mapped("subscription_state")), {"in_progress"}
        )

    def test_job_function_commits_on_the_renewal_channel(self):
        """The engine commits per unit: its jobs run with a cursor of their own."""
        config = self.cron_env["queue.job.function"].job_config(
            "<sale.order>._subscription_renewal_job"
        )
        self.assertTrue(config.allow_commit)
        self.assertEqual(config.channel, RENEWAL_CHANNEL)
        channel = self.cron_env.ref(
            "portal_account_queue.queue_job_channel_subscription_renewal"
        )
        self.assertEqual(channel.complete_name, RENEWAL_CHANNEL)
        self.assertGreater(channel.capacity, 0)

    def test_cron_run_twice_enqueues_each_batch_once(self):
        self._enqueue()
        self._enqueue()
        jobs = self._renewal_jobs()
        self.assertEqual(len(jobs), 3)
        self.assertEqual(set(jobs.mapped("channel")), {RENEWAL_CHANNEL})
        self.assertEqual(set(jobs.mapped("state")), {"pending"})

    def test_jobs_in_any_order_one_of_them_twice(self):
        """Each period is billed and charged once, each email queued once."""
        self._enqueue()
        jobs = self._renewal_jobs()
        self._perform(jobs[::-1])
        self._perform(jobs[:1])
        self._assert_renewed_once()
        # The next day, only the grace periods are looked at again.
        with freeze_time("2026-01-02"):
            self.assertEqual(
                self.cron_env["sale.order"]._cron_subscription_renewal(), 1
            )
        last_job = Job.load(self.cron_env, self._renewal_jobs()[-1:].uuid)
        self.assertEqual(last_job.recordset, self.grace_subscriptions)

    def test_job_result_says_what_it_did(self):
        self._enqueue(batch_size=5)
        job = self._renewal_jobs()
        self.assertEqual(
            self._perform(job + job),
            ["5 of 5 subscriptions handled.", "0 of 5 subscriptions handled."],
        )

    def test_inline_run_on_the_scheduled_action(self):
        """The context key runs the day on ``ir.cron``, as without the module."""
        with freeze_time("2026-01-01"):
            self.cron_env["sale.order"].with_context(
                subscription_renewal_inline=True
            )._cron_subscription_renewal()
        self.assertFalse(self._renewal_jobs())
        self.env.invalidate_all()
        self._assert_renewed_once()
