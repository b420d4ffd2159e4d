# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""No charge left hanging: a charge whose answer was lost.

The fault is injected inside the provider request: the provider takes the
money, then the answer never comes back (a timeout). What the customer's bank
saw is kept in ``ledger``, by charge reference, as a provider that
deduplicates by reference (idempotency key) keeps it.
"""

from datetime import date, timedelta
from unittest.mock import patch

import requests
from freezegun import freeze_time

from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import SubscriptionCommon, model_class

ENGINE_LOGGER = "odoo.addons.portal_account"


@tagged("post_install", "-at_install")
class TestHangingCharges(SubscriptionCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with freeze_time("2026-01-01"):
            cls.subscription = cls._create_subscription()
        cls.subscription.payment_token_id = cls._create_token()

    def setUp(self):
        super().setUp()
        # reference -> how many times the bank was charged for it
        self.ledger = {}
        self.lose_answers = 1

    def _provider(self, deduplicates):
        """The provider's request: it charges, then maybe loses the answer."""
        Transaction = model_class(self.env, "payment.transaction")
        send = Transaction._send_payment_request
        test = self

        def send_payment_request(transaction):
            known = deduplicates and transaction.reference in test.ledger
            if not known:
                test.ledger[transaction.reference] = (
                    test.ledger.get(transaction.reference, 0) + 1
                )
            if test.lose_answers:
                test.lose_answers -= 1
                raise requests.exceptions.Timeout("no answer from the provider")
            if known:
                # Same idempotency key: the first charge's outcome, no new one.
                transaction._set_done()
            else:
                send(transaction)

        Provider = model_class(self.env, "payment.provider")
        window = timedelta(hours=23) if deduplicates else None
        return [
            patch.object(Transaction, "_send_payment_request", send_payment_request),
            patch.object(
                Provider, "_subscription_resend_window", lambda provider: window
            ),
        ]

    def _run(self, day, deduplicates=True):
        patchers = self._provider(deduplicates)
        for patcher in patchers:
            patcher.start()
        try:
            with freeze_time(day), mute_logger(ENGINE_LOGGER):
                self._run_renewal()
        finally:
            for patcher in patchers:
                patcher.stop()

    def _charges(self):
        return self._transactions(self._period_invoices(self.subscription))

    def test_lost_answer_sent_again_as_the_same_charge(self):
        """Fault in the request, then two reruns: the period is paid once."""
        self._run("2026-01-01 03:00")
        charge = self._charges()
        self.assertEqual(charge.state, "draft")
        self.assertEqual(charge.subscription_charge_attempts, 1)
        self.assertEqual(self.subscription.subscription_state, "in_progress")
        self.assertFalse(self.subscription.subscription_charge_to_check)
        # The engine's next run is brought forward.
        cron = self.env.ref("portal_account.ir_cron_subscription_renewal")
        self.assertTrue(
            self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)], limit=1)
        )

        self._run("2026-01-01 04:00")
        self._run("2026-01-01 05:00")

        invoice = self._period_invoices(self.subscription)
        self.assertEqual(len(invoice), 1)
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))
        self.assertEqual(self._charges(), charge)
        self.assertEqual(charge.state, "done")
        self.assertEqual(charge.subscription_charge_attempts, 2)
        self.assertEqual(self.ledger, {charge.reference: 1})
        self.assertEqual(len(invoice.matched_payment_ids | charge.payment_id), 1)
        self.assertEqual(self.subscription.next_invoice_date, date(2026, 2, 1))
        self.assertFalse(self.subscription.subscription_charge_to_check)

    def test_lost_answer_of_a_provider_that_does_not_deduplicate(self):
        """Sent again, it could be charged twice: flagged at once instead."""
        self._run("2026-01-01 03:00", deduplicates=False)
        self._run("2026-01-02 03:00", deduplicates=False)
        self._run("2026-01-03 03:00", deduplicates=False)
        charge = self._charges()
        self.assertEqual(len(charge), 1)
        self.assertEqual(charge.state, "draft")
        self.assertEqual(sum(self.ledger.values()), 1)
        self.assertTrue(self.subscription.subscription_charge_to_check)
        activity = self.subscription.activity_ids
        self.assertEqual(len(activity), 1, "one to-do, however many runs")
        self.assertIn(charge.reference, activity.note)
        self.assertIn("answer", activity.note)
        self.assertEqual(
            self.env["sale.order"].search(
                [("subscription_charge_to_check", "=", True)]
            ),
            self.subscription,
        )
        # Whoever checks it finds it paid at the provider: settled, unflagged.
        charge._set_done()
        charge._post_process()
        self.assertEqual(self.subscription.next_invoice_date, date(2026, 2, 1))
        self.assertFalse(self.subscription.subscription_charge_to_check)

    def test_flagged_after_the_attempts_of_the_setting(self):
        self.env["ir.config_parameter"].set_param(
            "portal_account.charge_max_attempts", "2"
        )
        self.lose_answers = 5
        for hour in (3, 4, 5, 6):
            self._run(f"2026-01-01 0{hour}:00")
        charge = self._charges()
        self.assertEqual(len(charge), 1)
        self.assertEqual(charge.subscription_charge_attempts, 2)
        self.assertEqual(charge.state, "draft")
        self.assertTrue(self.subscription.subscription_charge_to_check)
        self.assertEqual(len(self.subscription.activity_ids), 1)

    def test_charge_pending_past_the_grace_period_is_flagged(self):
        self.lose_answers = 0
        Transaction = model_class(self.env, "payment.transaction")
        with patch.object(
            Transaction, "_send_payment_request", Transaction._set_pending
        ):
            for day in ("2026-01-01", "2026-01-05", "2026-01-08"):
                with freeze_time(day):
                    self._run_renewal()
            self.assertFalse(self.subscription.subscription_charge_to_check)
            with freeze_time("2026-01-09"):
                self._run_renewal()
        self.assertEqual(self._charges().state, "pending")
        self.assertEqual(self.subscription.subscription_state, "in_progress")
        self.assertTrue(self.subscription.subscription_charge_to_check)
        self.assertIn(self._charges().reference, self.subscription.activity_ids.note)

    def test_renewal_failing_past_the_grace_period_is_flagged(self):
        SaleOrder = model_class(self.env, "sale.order")

        def fail(orders):
            raise ValueError("a bug in the invoice")

        with patch.object(SaleOrder, "_renewal_create_invoices", fail):
            for day in ("2026-01-01", "2026-01-08"):
                with freeze_time(day), mute_logger(ENGINE_LOGGER):
                    self._run_renewal()
            self.assertFalse(self.subscription.subscription_charge_to_check)
            with freeze_time("2026-01-09"), mute_logger(ENGINE_LOGGER):
                self._run_renewal()
        self.assertFalse(self._period_invoices(self.subscription))
        self.assertTrue(self.subscription.subscription_charge_to_check)
        self.assertIn("server log", self.subscription.activity_ids.note)
