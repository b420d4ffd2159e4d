# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Core's invoicing and the renewal engine agree: a period is billed once."""

from datetime import date

from freezegun import freeze_time

from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged
from odoo.tools.safe_eval import safe_eval

from .common import SubscriptionCommon


@tagged("post_install", "-at_install")
class TestSubscriptionInvoicing(SubscriptionCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with freeze_time("2026-01-01"):
            cls.with_card, cls.without_card, cls.closed = (
                cls._create_subscription() for _i in range(3)
            )
        cls.with_card.payment_token_id = cls._create_token()
        cls.closed.action_subscription_close()
        cls.accountant = new_test_user(
            cls.env,
            login="accountant",
            groups="account.group_account_invoice,sales_team.group_sale_salesman_all_leads",
        )

    def _to_invoice(self):
        """The orders of Sales > To Invoice, as the accountant sees the list."""
        action = self.env.ref("sale.action_orders_to_invoice")
        SaleOrder = self.env["sale.order"].with_user(self.accountant)
        return SaleOrder.search(safe_eval(action.domain))

    def _create_invoice_wizard(self, orders, method="delivered"):
        return (
            self.env["sale.advance.payment.inv"]
            .with_user(self.accountant)
            .with_context(active_model="sale.order", active_ids=orders.ids)
            .create({"advance_payment_method": method})
        )

    def test_to_invoice_only_while_the_open_period_is_unbilled(self):
        subscriptions = self.with_card | self.without_card | self.closed
        with freeze_time("2026-01-01"):
            self.env.invalidate_all()
            self._run_renewal()
            subscriptions.invalidate_recordset(["invoice_status"])
            subscriptions._compute_invoice_status()
            # Billed and paid by card: invoiced. Without a card: its open
            # period is not billed yet. Closed: never.
            self.assertEqual(self.with_card.invoice_status, "invoiced")
            self.assertEqual(self.without_card.subscription_state, "to_renew")
            self.assertEqual(self.without_card.invoice_status, "to invoice")
            self.assertNotEqual(self.closed.invoice_status, "to invoice")
            self.assertEqual(self._to_invoice() & subscriptions, self.without_card)

    def test_create_invoice_from_to_invoice_bills_the_open_period_once(self):
        with freeze_time("2026-01-01"):
            self._run_renewal()
            orders = self._to_invoice() & (self.with_card | self.without_card)
            self.assertEqual(orders, self.without_card)
            wizard = self._create_invoice_wizard(orders)
            action = wizard.create_invoices()
            invoice = self._period_invoices(self.without_card)
            self.assertEqual(len(invoice), 1)
            self.assertEqual(invoice.state, "posted")
            self.assertEqual(invoice.subscription_period_end, date(2026, 1, 31))
            self.assertEqual(action.get("res_id"), invoice.id)
            self.assertEqual(self.without_card.invoice_status, "invoiced")
            self.assertFalse(self._to_invoice() & self.without_card)
            # Again, single or in bulk: refused, nothing more is billed.
            with self.assertRaisesRegex(UserError, "already billed"):
                self._create_invoice_wizard(self.without_card).create_invoices()
            with self.assertRaisesRegex(UserError, "already billed"):
                self._create_invoice_wizard(
                    self.with_card | self.without_card
                ).create_invoices()
            self.assertEqual(len(self.without_card.subscription_invoice_ids), 1)
            # The engine's next run charges nothing more and bills nothing more.
            self._run_renewal()
            self.assertEqual(len(self.without_card.subscription_invoice_ids), 1)
        # Paid through the invoice: the subscription runs again, next period on.
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=invoice.ids
        ).create({})._create_payments()
        self.assertEqual(self.without_card.subscription_state, "in_progress")
        self.assertEqual(self.without_card.next_invoice_date, date(2026, 2, 1))

    def test_closed_subscription_and_down_payment_refused(self):
        with self.assertRaisesRegex(UserError, "not running"):
            self._create_invoice_wizard(self.closed).create_invoices()
        with self.assertRaisesRegex(UserError, "down payment"):
            wizard = self._create_invoice_wizard(self.without_card, "percentage")
            wizard.amount = 10
            wizard.create_invoices()
        self.assertFalse(self.closed.subscription_invoice_ids)
        self.assertFalse(self.without_card.subscription_invoice_ids)

    def test_paused_and_ending_not_to_invoice_and_refused(self):
        """Nothing is billed while paused, nor from the customer's end date."""
        token = self._create_token()
        with freeze_time("2026-01-01"):
            paused, ending = (self._create_subscription(token=token) for _i in range(2))
            paused.action_subscription_pause()
            # Closed by the customer during the last period; the run of the
            # end date has not come yet.
            ending.subscription_end_date = date(2026, 1, 1)
            (paused | ending).invalidate_recordset(["invoice_status"])
            self.assertEqual(paused.invoice_status, "no")
            self.assertEqual(ending.invoice_status, "no")
            self.assertFalse(self._to_invoice() & (paused | ending))
            with self.assertRaisesRegex(UserError, "is paused"):
                self._create_invoice_wizard(paused).create_invoices()
            with self.assertRaisesRegex(UserError, "closes on 01/01/2026"):
                self._create_invoice_wizard(ending).create_invoices()
            # The engine's billing itself skips them, whoever calls it.
            self.assertFalse((paused | ending)._subscription_bill_open_period())
            self._run_renewal()
        self.assertFalse((paused | ending).subscription_invoice_ids)
        self.assertEqual(paused.subscription_state, "paused")
        self.assertFalse(paused.renewal_deadline)
        self.assertEqual(ending.subscription_state, "closed")
        self.assertEqual(ending.close_reason, "customer")

    def test_other_orders_invoiced_by_core(self):
        order = self.env["sale.order"].create(
            {
                "partner_id": self.customer.id,
                "order_line": [(0, 0, {"product_id": self.app.id})],
            }
        )
        order.action_confirm()
        self.assertEqual(order.invoice_status, "to invoice")
        invoice = order._create_invoices()
        self.assertEqual(invoice.invoice_line_ids.sale_line_ids, order.order_line)
        self.assertFalse(invoice.subscription_id)
