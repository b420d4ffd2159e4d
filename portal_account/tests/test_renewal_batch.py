# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The card subscriptions of a batch are billed, charged and paid together.

What a customer and an accountant see must be what core's one-at-a-time
post-processing gives: one payment per invoice, reconciled with it, and the
same messages on the invoice; a subscription that fails in the batch leaves
the others be.
"""

from datetime import date
from unittest.mock import patch

import requests
from freezegun import freeze_time

from odoo import SUPERUSER_ID
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..models.account_move import PAID_STATES
from .common import SubscriptionCommon

ENGINE_LOGGER = "odoo.addons.portal_account"


@tagged("post_install", "-at_install")
class TestRenewalBatch(SubscriptionCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with freeze_time("2026-01-01"):
            cls.subscriptions = cls.env["sale.order"]
            for _index in range(4):
                cls.subscriptions |= cls._create_subscription(token=cls._create_token())

    def _assert_paid_as_core_does(self, subscription):
        """One payment, reconciled with the invoice, and core's three messages."""
        invoice = self._period_invoices(subscription)
        self.assertEqual(len(invoice), 1, subscription.name)
        self.assertIn(invoice.payment_state, PAID_STATES, subscription.name)
        transaction = self._transactions(invoice)
        self.assertEqual(transaction.mapped("state"), ["done"], subscription.name)
        self.assertTrue(transaction.is_post_processed)
        payment = self.env["account.payment"].search(
            [("invoice_ids", "in", invoice.ids)]
        )
        self.assertEqual(len(payment), 1, subscription.name)
        self.assertEqual(transaction.payment_id, payment)
        self.assertEqual(payment.payment_transaction_id, transaction)
        self.assertEqual(payment.payment_token_id, subscription.payment_token_id)
        self.assertEqual(payment.amount, invoice.amount_total)
        self.assertEqual(payment.partner_id, invoice.commercial_partner_id)
        self.assertEqual(payment.reconciled_invoice_ids, invoice)
        self.assertEqual(payment.move_id.state, "posted")
        self.assertTrue(payment.memo.startswith(transaction.reference))
        notes = invoice.message_ids.filtered(
            lambda message: transaction.reference in (message.body or "")
        ).sorted("id")
        self.assertEqual(len(notes), 3, subscription.name)
        self.assertIn("has been initiated", notes[0].body)
        self.assertIn("has been confirmed", notes[1].body)
        self.assertIn("has been posted", notes[2].body)
        self.assertIn(f'data-oe-id="{payment.id}"', notes[2].body)
        # Core signs them with the customer unless the superuser charged.
        author = (
            self.env.user.partner_id
            if self.env.uid == SUPERUSER_ID
            else transaction.partner_id
        )
        self.assertEqual(notes.author_id, author)
        self.assertEqual(subscription.subscription_state, "in_progress")
        self.assertEqual(subscription.next_invoice_date, date(2026, 2, 1))

    def test_declined_card_and_failed_invoice_leave_the_others_paid(self):
        paid, declined, failing, other = self.subscriptions
        self._set_card_outcome(declined.payment_token_id, "error")
        SaleOrder = type(self.env["sale.order"])
        original = SaleOrder._renewal_create_invoices

        def create_invoices(orders):
            if failing in orders:
                raise RuntimeError("invoice refused")
            return original(orders)

        with (
            freeze_time("2026-01-01"),
            patch.object(SaleOrder, "_renewal_create_invoices", create_invoices),
            self.assertLogs(ENGINE_LOGGER, "ERROR") as logs,
        ):
            self._run_renewal()
        self.assertEqual(len(logs.records), 1)
        self.assertIn(failing.name, logs.records[0].getMessage())

        for subscription in paid | other:
            self._assert_paid_as_core_does(subscription)
            mails = self._queued_mails(
                subscription, "mail_template_subscription_payment_done"
            )
            self.assertEqual(len(mails), 1)
        # Declined: the invoice stays open and the grace period opens, with
        # the reason on the subscription.
        invoice = self._period_invoices(declined)
        self.assertEqual(invoice.payment_state, "not_paid")
        self.assertEqual(self._transactions(invoice).mapped("state"), ["error"])
        self.assertFalse(self._transactions(invoice).payment_id)
        self.assertEqual(declined.subscription_state, "to_renew")
        self.assertEqual(declined.renewal_deadline, date(2026, 1, 8))
        failure = declined.message_ids.filtered(
            lambda message: "failed" in (message.body or "")
        )
        self.assertEqual(len(failure), 1)
        self.assertIn(invoice.name, failure.body)
        self.assertIn(declined.payment_token_id.display_name, failure.body)
        # Not billed: left as it was, for the next run.
        self.assertFalse(self._period_invoices(failing))
        self.assertEqual(failing.subscription_state, "in_progress")
        self.assertEqual(failing.next_invoice_date, date(2026, 1, 1))

        with freeze_time("2026-01-01"), self.assertNoLogs(ENGINE_LOGGER, "ERROR"):
            self._run_renewal()
        self._assert_paid_as_core_does(failing)
        self.assertEqual(
            self._transactions(self._period_invoices(declined)).mapped("state"),
            ["error"],
        )

    def test_batch_paid_in_one_go(self):
        """One create of the payments, one reconciliation, for the whole batch."""
        Payment = type(self.env["account.payment"])
        Line = type(self.env["account.move.line"])
        create, reconcile_plan = Payment.create, Line._reconcile_plan
        calls = {"create": [], "reconcile": []}

        def count_create(payments, vals_list):
            calls["create"].append(len(vals_list))
            return create(payments, vals_list)

        def count_reconcile(lines, plan):
            calls["reconcile"].append(len(plan))
            return reconcile_plan(lines, plan)

        with (
            freeze_time("2026-01-01"),
            patch.object(Payment, "create", count_create),
            patch.object(Line, "_reconcile_plan", count_reconcile),
        ):
            self._run_renewal()
        self.assertEqual(calls, {"create": [4], "reconcile": [4]})
        for subscription in self.subscriptions:
            self._assert_paid_as_core_does(subscription)

    def test_failed_post_processing_waits_and_is_not_charged_again(self):
        """A charge that went through but could not be paid stays under way."""
        target = self.subscriptions[2]
        Transaction = type(self.env["payment.transaction"])
        original = Transaction._post_process

        def post_process(transactions):
            if target in transactions.invoice_ids.subscription_id:
                raise RuntimeError("post-processing failed")
            return original(transactions)

        with (
            freeze_time("2026-01-01"),
            patch.object(Transaction, "_post_process", post_process),
            mute_logger(ENGINE_LOGGER),
        ):
            self._run_renewal()
        for subscription in self.subscriptions - target:
            self._assert_paid_as_core_does(subscription)
        invoice = self._period_invoices(target)
        transaction = self._transactions(invoice)
        self.assertEqual(transaction.mapped("state"), ["done"])
        self.assertFalse(transaction.is_post_processed)
        self.assertFalse(transaction.payment_id)
        self.assertEqual(invoice.payment_state, "not_paid")

        # Under way: neither charged again nor in its grace period.
        with freeze_time("2026-01-02"):
            self._run_renewal()
        self.assertEqual(self._transactions(invoice), transaction)
        self.assertEqual(target.subscription_state, "in_progress")
        self.assertEqual(target.next_invoice_date, date(2026, 1, 1))

        # Core's post-processing finishes it and the subscription moves on.
        transaction._post_process()
        self._assert_paid_as_core_does(target)

    def test_change_payment_method_provider_error(self):
        """A portal charge whose provider does not answer is never sent twice."""
        subscription = self.subscriptions[0]
        subscription.payment_token_id = False
        with freeze_time("2026-01-01"):
            self._run_renewal()
        self.assertEqual(subscription.subscription_state, "to_renew")
        Transaction = type(self.env["payment.transaction"])

        def time_out(transaction):
            raise requests.exceptions.Timeout("provider did not answer")

        with (
            freeze_time("2026-01-02"),
            patch.object(Transaction, "_send_payment_request", time_out),
            self.assertLogs(ENGINE_LOGGER, "ERROR"),
        ):
            paid = subscription._subscription_set_payment_token(self._create_token())
        self.assertFalse(paid)
        invoice = self._period_invoices(subscription)
        transaction = self._transactions(invoice)
        self.assertEqual(transaction.mapped("state"), ["draft"])

        # Another card, then the scheduled action: the charge under way is
        # not doubled while the provider may still take the money.
        with freeze_time("2026-01-03"):
            self.assertFalse(
                subscription._subscription_set_payment_token(self._create_token())
            )
            self._run_renewal()
        self.assertEqual(self._transactions(invoice), transaction)
        self.assertEqual(subscription.subscription_state, "to_renew")
