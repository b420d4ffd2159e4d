# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date

from freezegun import freeze_time

from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import SubscriptionCommon


@tagged("post_install", "-at_install")
class TestSubscriptionLifecycle(SubscriptionCommon):
    """Closing at the period's end, pausing, and prorated upsells."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.reason = cls.env["subscription.close.reason"].create(
            {"name": "Too expensive"}
        )
        cls.token = cls._create_token()
        with freeze_time("2026-01-01"):
            cls.subscription = cls._create_subscription(token=cls.token)
            cls.database = cls.env["hosted.database"].create(
                {
                    "name": "acme",
                    "partner_id": cls.customer.id,
                    "subscription_id": cls.subscription.id,
                }
            )
            # The first period (January) is billed and paid.
            cls.env["sale.order"]._cron_subscription_renewal()
        cls.subscription.invalidate_recordset()

    def _flush_tracking(self):
        self.env.flush_all()
        self.env.cr.precommit.run()

    def _tracked(self, order, field_name):
        order.invalidate_recordset(["message_ids"])
        return order.message_ids.tracking_value_ids.filtered(
            lambda value: value.field_id.name == field_name
        )

    def test_first_period_paid(self):
        self.assertEqual(self.subscription.subscription_state, "in_progress")
        self.assertEqual(self.subscription.next_invoice_date, date(2026, 2, 1))

    # ------------------------------------------------------------
    # Close at the end of the paid period
    # ------------------------------------------------------------

    def test_close_at_period_end(self):
        subscription = self.subscription
        with freeze_time("2026-01-20"):
            self.assertTrue(
                subscription._subscription_request_close(self.reason, "Budget cut")
            )
        self.assertEqual(subscription.subscription_end_date, date(2026, 2, 1))
        self.assertEqual(subscription.close_reason_id, self.reason)
        self.assertEqual(subscription.close_comment, "Budget cut")
        self.assertEqual(subscription.subscription_state, "in_progress")
        self.assertEqual(self.database.access_state, "active")
        mail = self._queued_mails(subscription, "mail_template_subscription_closing")
        self.assertEqual(len(mail), 1)
        self.assertIn("02/01/2026", mail.subject)
        # Posted again: nothing more.
        with freeze_time("2026-01-20"):
            self.assertFalse(subscription._subscription_request_close(self.reason))
        self.assertEqual(
            len(self._queued_mails(subscription, "mail_template_subscription_closing")),
            1,
        )

        with freeze_time("2026-01-31"):  # the last paid day
            self._run_renewal()
        self.assertEqual(subscription.subscription_state, "in_progress")
        self.assertEqual(self.database.access_state, "active")

        with freeze_time("2026-02-01"):
            self._run_renewal()
        self.assertEqual(subscription.subscription_state, "closed")
        self.assertEqual(subscription.close_reason, "customer")
        self.assertEqual(subscription.subscription_close_date, date(2026, 2, 1))
        self.assertEqual(self.database.access_state, "suspended")
        self.assertFalse(self._period_invoices(subscription, date(2026, 2, 1)))
        self.assertTrue(
            self._queued_mails(subscription, "mail_template_subscription_closed")
        )

    def test_close_undo_renews_as_before(self):
        subscription = self.subscription
        with freeze_time("2026-01-20"):
            subscription._subscription_request_close(self.reason)
            self.assertTrue(subscription._subscription_undo_close())
            self.assertFalse(subscription._subscription_undo_close())
        self.assertFalse(subscription.subscription_end_date)
        self.assertFalse(subscription.close_reason_id)
        with freeze_time("2026-02-01"):
            self._run_renewal()
        self.assertEqual(subscription.subscription_state, "in_progress")
        self.assertEqual(subscription.next_invoice_date, date(2026, 3, 1))
        self.assertTrue(self._period_invoices(subscription, date(2026, 2, 1)))

    def test_close_to_renew_closes_at_once(self):
        subscription = self.subscription
        subscription.payment_token_id = False
        with freeze_time("2026-02-01"):
            self._run_renewal()
            self.assertEqual(subscription.subscription_state, "to_renew")
            subscription._subscription_request_close(self.reason)
        self.assertEqual(subscription.subscription_state, "closed")
        self.assertEqual(subscription.close_reason, "customer")
        self.assertEqual(subscription.subscription_end_date, date(2026, 2, 1))
        self.assertEqual(self.database.access_state, "suspended")

    def test_close_on_renewal_day_closes_at_once(self):
        """The period starting today is not paid: nothing is left to run."""
        with freeze_time("2026-02-01"):
            self.subscription._subscription_request_close(self.reason)
        self.assertEqual(self.subscription.subscription_state, "closed")
        self.assertFalse(self._period_invoices(self.subscription, date(2026, 2, 1)))

    def test_close_not_user_closable(self):
        self.plan.user_closable = False
        with freeze_time("2026-01-20"):
            self.assertFalse(self.subscription._subscription_can_close())
            self.assertFalse(self.subscription._subscription_request_close(self.reason))
        self.assertFalse(self.subscription.subscription_end_date)

    def test_close_reason_of_another_company(self):
        other_company = self.env["res.company"].create({"name": "Other Co"})
        reason = self.env["subscription.close.reason"].create(
            {"name": "Elsewhere", "company_id": other_company.id}
        )
        with freeze_time("2026-01-20"), self.assertRaises(UserError):
            self.subscription._subscription_request_close(reason)
        self.assertFalse(self.subscription.subscription_end_date)

    def test_closes_by_reason_and_month(self):
        """What the backend's analysis of closes groups by."""
        with freeze_time("2026-01-20"):
            self.subscription._subscription_request_close(self.reason)
        other = self._create_subscription(token=self.token, start=date(2026, 1, 1))
        with freeze_time("2026-02-01"):
            self._run_renewal()
        closed = self.env["sale.order"].search(
            [("subscription_state", "=", "closed"), ("close_reason", "=", "customer")]
        )
        self.assertIn(self.subscription, closed)
        self.assertNotIn(other, closed)
        groups = self.env["sale.order"]._read_group(
            [("id", "in", closed.ids)],
            ["close_reason_id", "subscription_close_date:month"],
            ["__count"],
        )
        self.assertIn((self.reason, date(2026, 2, 1), 1), groups)
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "portal_account.sale_order_subscription_close_action"
        )
        self.assertEqual(action["view_mode"], "graph,pivot,list,form")

    # ------------------------------------------------------------
    # Pause and resume
    # ------------------------------------------------------------

    def test_pause_and_resume_on_date(self):
        # The test environment tracks nothing unless told to.
        self.env = self.env(context=dict(self.env.context, mail_notrack=False))
        subscription = self.subscription.with_env(self.env)
        # Odoo tracks no change of a record created in the same transaction.
        self._flush_tracking()
        with freeze_time("2026-01-20"):
            subscription.action_subscription_pause(resume_date=date(2026, 3, 1))
            self._flush_tracking()
        self.assertEqual(subscription.subscription_state, "paused")
        self.assertIn(
            "Paused",
            self._tracked(subscription, "subscription_state").mapped("new_value_char"),
        )
        self.assertTrue(self._tracked(subscription, "subscription_resume_date"))
        self.assertEqual(subscription.subscription_paused_date, date(2026, 1, 20))
        self.assertEqual(self.database.access_state, "suspended")
        with freeze_time("2026-02-01"):
            self._run_renewal()  # nothing billed, no grace period
        self.assertEqual(subscription.subscription_state, "paused")
        self.assertFalse(self._period_invoices(subscription, date(2026, 2, 1)))
        self.assertFalse(subscription.renewal_deadline)
        with freeze_time("2026-03-01"):
            self._run_renewal()
        # Paused 40 days: the 12 paid days left move on with it.
        self.assertEqual(subscription.subscription_state, "in_progress")
        self.assertEqual(subscription.next_invoice_date, date(2026, 3, 13))
        self.assertFalse(subscription.subscription_resume_date)
        self.assertEqual(self.database.access_state, "active")
        self._flush_tracking()
        self.assertIn(
            "In Progress",
            self._tracked(subscription, "subscription_state").mapped("new_value_char"),
        )
        self.assertTrue(self._tracked(subscription, "next_invoice_date"))
        self.assertIn("40 day(s)", " ".join(subscription.message_ids.mapped("body")))

    def test_due_set_of_the_life_cycle(self):
        """Paused and ending subscriptions are due only for their change of the day."""
        SaleOrder = self.env["sale.order"]
        subscription = self.subscription
        with freeze_time("2026-01-20"):
            subscription.action_subscription_pause(resume_date=date(2026, 3, 1))
        for day, due in (("2026-02-01", False), ("2026-03-01", True)):
            with freeze_time(day):
                today = date.fromisoformat(day)
                self.assertEqual(
                    subscription
                    in SaleOrder.search(SaleOrder._renewal_due_domain(today)),
                    due,
                )
                self.assertFalse(
                    subscription.filtered_domain(
                        SaleOrder._renewal_to_renew_domain(today)
                    )
                )

    def test_resumed_and_renewed_in_one_run(self):
        """Paused on its renewal day before the run: renewed on resuming."""
        subscription = self.subscription
        with freeze_time("2026-02-01"):
            subscription.action_subscription_pause(resume_date=date(2026, 2, 3))
            self._run_renewal()
        self.assertFalse(self._period_invoices(subscription, date(2026, 2, 1)))
        with freeze_time("2026-02-03"):
            self._run_renewal()
        # Paused two days: the period starts on the 3rd, billed and paid at once.
        self.assertEqual(subscription.subscription_state, "in_progress")
        invoice = self._period_invoices(subscription, date(2026, 2, 3))
        self.assertTrue(invoice._subscription_is_paid())
        self.assertEqual(subscription.next_invoice_date, date(2026, 3, 3))

    def test_paused_then_closing_closes_on_the_end_date(self):
        subscription = self.subscription
        with freeze_time("2026-01-20"):
            subscription._subscription_request_close(self.reason)
            subscription.action_subscription_pause(resume_date=date(2026, 3, 1))
        with freeze_time("2026-02-01"):
            self._run_renewal()
        self.assertEqual(subscription.subscription_state, "closed")
        self.assertEqual(subscription.close_reason, "customer")
        self.assertFalse(subscription.subscription_resume_date)
        self.assertFalse(self._period_invoices(subscription, date(2026, 2, 1)))

    def test_pause_by_hand(self):
        subscription = self.subscription
        with freeze_time("2026-01-20"):
            wizard = self.env["subscription.pause.wizard"].create(
                {"order_ids": subscription.ids}
            )
            wizard.action_pause()
        self.assertEqual(subscription.subscription_state, "paused")
        self.assertFalse(subscription.subscription_resume_date)
        with freeze_time("2026-01-25"):
            subscription.action_subscription_resume()
        self.assertEqual(subscription.next_invoice_date, date(2026, 2, 6))
        self.assertEqual(subscription.subscription_state, "in_progress")

    def test_pause_refused(self):
        with freeze_time("2026-01-20"):
            with self.assertRaises(UserError):
                self.subscription.action_subscription_pause(date(2026, 1, 20))
            self.subscription.action_subscription_close()
            with self.assertRaises(UserError):
                self.subscription.action_subscription_pause()

    # ------------------------------------------------------------
    # Proration and upsells
    # ------------------------------------------------------------

    def test_prorate_rule(self):
        subscription = self.subscription
        with freeze_time("2026-01-20"):
            # 12 days left (20 to 31 January) of 31: 20.00 x 12 / 31 = 7.7419...
            self.assertEqual(subscription._subscription_prorate_days(), (12, 31))
            self.assertEqual(subscription._subscription_prorate(20.0), 7.74)
        with freeze_time("2026-01-31"):  # the last day of the period
            self.assertEqual(subscription._subscription_prorate_days(), (1, 31))
            self.assertEqual(subscription._subscription_prorate(20.0), 0.65)
        with freeze_time("2026-01-01"):
            self.assertEqual(subscription._subscription_prorate(20.0), 20.0)

    def test_admin_upsell_prorated(self):
        with freeze_time("2026-01-20"):
            action = self.subscription.action_subscription_new_quotation()
            quote = self.env["sale.order"].browse(action["res_id"])
            quote.order_line = [
                (0, 0, {"product_id": self.user_product.id, "product_uom_qty": 2}),
                (0, 0, {"product_id": self.app.id, "product_uom_qty": 1}),
            ]
        users, app = quote.order_line
        self.assertEqual(users.price_unit, 7.74)
        self.assertEqual(app.price_unit, 38.71)  # 100 x 12 / 31
        self.assertEqual(quote.amount_untaxed, 54.19)
        with freeze_time("2026-01-20"):
            quote.action_confirm()
        lines = self.subscription.order_line
        users = lines.filtered(lambda line: line.product_id == self.user_product)
        self.assertEqual(users.product_uom_qty, 5)
        self.assertEqual(users.price_unit, 20.0)
        self.assertEqual(
            lines.filtered(lambda line: line.product_id == self.app).price_unit, 100.0
        )
        with freeze_time("2026-02-01"):
            self._run_renewal()
        self.assertEqual(
            self._period_invoices(self.subscription, date(2026, 2, 1)).amount_untaxed,
            200.0 + 100.0,
        )

    def test_change_more_seats_and_new_product(self):
        extra = self.env["product.product"].create(
            {"name": "Inventory App", "type": "service", "list_price": 31.0}
        )
        self.plan.upsell_product_ids = extra
        with freeze_time("2026-01-20"):
            change = self.subscription._subscription_prepare_change(
                {self.user_product: 5, extra: 1}
            )
            self.assertEqual(change["due_now"], 7.74 * 2 + 12.0)
            self.assertEqual(change["recurring"], 100.0 + 5 * 20.0 + 31.0)
            quote = self.subscription._subscription_apply_change(
                {self.user_product: 5, extra: 1}
            )
            again = self.subscription._subscription_apply_change(
                {self.user_product: 5, extra: 1}
            )
        self.assertEqual(again, quote)
        self.assertEqual(quote.origin_subscription_id, self.subscription)
        self.assertEqual(quote.subscription_quote_type, "upsell")
        self.assertEqual(quote.state, "sent")
        self.assertTrue(quote.require_payment)
        self.assertEqual(quote.amount_untaxed, change["due_now"])
        self.assertEqual(
            {(line.product_id, line.product_uom_qty) for line in quote.order_line},
            {(self.user_product, 2.0), (extra, 1.0)},
        )

    def test_change_fewer_seats_at_next_renewal(self):
        with freeze_time("2026-01-20"):
            quote = self.subscription._subscription_apply_change({self.user_product: 1})
        self.assertFalse(quote)
        users = self.subscription.order_line.filtered(
            lambda line: line.product_id == self.user_product
        )
        self.assertEqual(users.product_uom_qty, 3)
        self.assertEqual(users.subscription_qty_removed, 2)
        with freeze_time("2026-02-01"):
            self._run_renewal()
        self.assertEqual(users.product_uom_qty, 1)
        self.assertEqual(users.subscription_qty_removed, 0)
        self.assertEqual(
            self._period_invoices(self.subscription, date(2026, 2, 1)).amount_untaxed,
            100.0 + 20.0,
        )

    def test_change_refused(self):
        other_product = self.env["product.product"].create(
            {"name": "Not on the plan", "type": "service", "list_price": 5.0}
        )
        with freeze_time("2026-01-20"):
            with self.assertRaises(UserError):
                self.subscription._subscription_apply_change({other_product: 1})
            with self.assertRaises(UserError):
                self.subscription._subscription_apply_change(
                    {self.user_product: 0, self.app: 0}
                )
        with freeze_time("2026-02-01"), self.assertRaises(UserError):
            # The renewal is due: the period is billed with the lines as they are.
            self.subscription._subscription_apply_change({self.user_product: 4})
