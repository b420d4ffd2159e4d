# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date
from unittest.mock import patch

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .common import SubscriptionCommon

ENGINE_LOGGER = "odoo.addons.portal_account"


@tagged("post_install", "-at_install")
class TestSubscriptionRenewal(SubscriptionCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with freeze_time("2026-01-01"):
            cls.subscription = cls._create_subscription()
            cls.database = cls.env["hosted.database"].create(
                {
                    "name": "acme",
                    "url": "https://acme.example.com",
                    "partner_id": cls.customer.id,
                    "subscription_id": cls.subscription.id,
                }
            )

    def test_plan_constraints(self):
        with self.assertRaisesRegex(ValidationError, "billing period"):
            self.plan.billing_period_value = 0
        with self.assertRaisesRegex(ValidationError, "grace period"):
            self.plan.grace_period_days = -1
        self.assertEqual(
            self.env["subscription.plan"].create({"name": "Default"}).grace_period_days,
            7,
        )

    def test_confirm_starts_subscription(self):
        self.assertTrue(self.subscription.is_subscription)
        self.assertEqual(self.subscription.subscription_state, "in_progress")
        self.assertEqual(self.subscription.subscription_start_date, date(2026, 1, 1))
        self.assertEqual(self.subscription.next_invoice_date, date(2026, 1, 1))
        self.assertEqual(
            self.subscription.access_url, f"/my/subscriptions/{self.subscription.id}"
        )

    def test_day_0_without_card_goes_to_renew(self):
        with freeze_time("2026-01-01"):
            self._run_renewal()
        self.assertEqual(self.subscription.subscription_state, "to_renew")
        self.assertEqual(self.subscription.renewal_deadline, date(2026, 1, 8))
        self.assertFalse(self.subscription.subscription_invoice_ids)
        mail = self._queued_mails(
            self.subscription, "mail_template_subscription_to_renew"
        )
        self.assertEqual(len(mail), 1)
        self.assertIn(
            f"/my/subscriptions/{self.subscription.id}/payment_method", mail.body_html
        )

    def test_grace_notice_sent_with_the_run(self):
        with freeze_time("2026-01-01"):
            self.env["sale.order"]._cron_subscription_renewal()
        self.assertEqual(self.subscription.subscription_state, "to_renew")
        self.assertFalse(self.subscription.subscription_notice)
        self.assertEqual(
            len(
                self._queued_mails(
                    self.subscription, "mail_template_subscription_to_renew"
                )
            ),
            1,
        )

    def _run_renewal_with_broken_notices(self):
        """The renewal run, with every customer email failing to render."""
        SaleOrder = type(self.env["sale.order"])

        def send_mail(orders, template_xmlid):
            if orders:
                raise ValueError("broken template")

        with (
            patch.object(SaleOrder, "_subscription_send_mail", send_mail),
            self.assertLogs(ENGINE_LOGGER, "ERROR"),
        ):
            self.env["sale.order"]._cron_subscription_renewal()

    def test_grace_notice_left_to_its_scheduled_action(self):
        notices_cron = self.env.ref("portal_account.ir_cron_subscription_notices")
        triggers = self.env["ir.cron.trigger"].search_count(
            [("cron_id", "=", notices_cron.id)]
        )
        with freeze_time("2026-01-01"):
            self._run_renewal_with_broken_notices()
        # The subscription moved on all the same; its email waits, queued.
        self.assertEqual(self.subscription.subscription_state, "to_renew")
        self.assertEqual(self.subscription.subscription_notice, "to_renew")
        self.assertFalse(
            self._queued_mails(self.subscription, "mail_template_subscription_to_renew")
        )
        self.assertGreater(
            self.env["ir.cron.trigger"].search_count(
                [("cron_id", "=", notices_cron.id)]
            ),
            triggers,
        )
        with freeze_time("2026-01-01"):
            self.env["sale.order"]._cron_subscription_send_notices()
            self.env["sale.order"]._cron_subscription_send_notices()
        self.assertFalse(self.subscription.subscription_notice)
        self.assertEqual(
            len(
                self._queued_mails(
                    self.subscription, "mail_template_subscription_to_renew"
                )
            ),
            1,
        )

    def test_grace_notice_dropped_once_paid(self):
        with freeze_time("2026-01-01"):
            self._run_renewal_with_broken_notices()
        with freeze_time("2026-01-01 10:00"):
            self.subscription._subscription_set_payment_token(self._create_token())
            self.env["sale.order"]._cron_subscription_send_notices()
        self.assertEqual(self.subscription.subscription_state, "in_progress")
        self.assertFalse(self.subscription.subscription_notice)
        self.assertFalse(
            self._queued_mails(self.subscription, "mail_template_subscription_to_renew")
        )
        self.assertTrue(
            self._queued_mails(
                self.subscription, "mail_template_subscription_payment_done"
            )
        )

    def test_not_due_is_left_alone(self):
        with freeze_time("2025-12-31"):
            self._run_renewal()
        self.assertEqual(self.subscription.subscription_state, "in_progress")

    def test_day_7_still_to_renew_with_access(self):
        for day in range(1, 9):
            with freeze_time(date(2026, 1, day)):
                self._run_renewal()
            if day == 8:
                break
            self.assertEqual(self.subscription.subscription_state, "to_renew", day)
            self.assertEqual(self.database.access_state, "active")
        self.assertEqual(self.subscription.subscription_state, "to_renew")
        with freeze_time("2026-01-09"):
            self._run_renewal()
        self.assertEqual(self.subscription.subscription_state, "closed")

    def test_day_8_closed_and_suspended(self):
        with freeze_time("2026-01-01"):
            self._run_renewal()
        with freeze_time("2026-01-09"):
            self._run_renewal()
        self.assertEqual(self.subscription.subscription_state, "closed")
        self.assertEqual(self.subscription.close_reason, "unpaid")
        self.assertFalse(self.subscription.renewal_deadline)
        self.assertEqual(self.database.access_state, "suspended")
        self.assertTrue(self.database.suspended_since)
        self.assertEqual(
            len(
                self._queued_mails(
                    self.subscription, "mail_template_subscription_closed"
                )
            ),
            1,
        )

    def test_valid_card_one_paid_invoice_and_next_period(self):
        self.subscription.payment_token_id = self._create_token()
        with freeze_time("2026-01-01"):
            self._run_renewal()
        invoice = self.subscription.subscription_invoice_ids
        self.assertEqual(len(invoice), 1)
        self.assertEqual(invoice.state, "posted")
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))
        self.assertEqual(invoice.amount_untaxed, 160.0)
        self.assertEqual(invoice.subscription_period_start, date(2026, 1, 1))
        self.assertEqual(invoice.subscription_period_end, date(2026, 1, 31))
        self.assertEqual(self.subscription.subscription_state, "in_progress")
        self.assertEqual(self.subscription.next_invoice_date, date(2026, 2, 1))
        self.assertEqual(
            len(
                self._queued_mails(
                    self.subscription, "mail_template_subscription_payment_done"
                )
            ),
            1,
        )

    def test_three_runs_one_invoice_one_charge(self):
        self.subscription.payment_token_id = self._create_token()
        with freeze_time("2026-01-01"):
            for _run in range(3):
                self._run_renewal()
        invoices = self.subscription.subscription_invoice_ids
        self.assertEqual(len(invoices), 1)
        transactions = self.env["payment.transaction"].search(
            [("invoice_ids", "in", invoices.ids)]
        )
        self.assertEqual(transactions.mapped("state"), ["done"])
        self.assertEqual(self.subscription.next_invoice_date, date(2026, 2, 1))

    def test_each_period_billed_once(self):
        self.subscription.payment_token_id = self._create_token()
        for day in (
            "2026-01-01",
            "2026-01-15",
            "2026-02-01",
            "2026-02-01",
            "2026-03-01",
        ):
            with freeze_time(day):
                self._run_renewal()
        invoices = self.subscription.subscription_invoice_ids
        self.assertEqual(
            invoices.sorted("subscription_period_start").mapped(
                "subscription_period_start"
            ),
            [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)],
        )
        self.assertEqual(self.subscription.next_invoice_date, date(2026, 4, 1))

    def test_exception_mid_batch_then_rerun(self):
        token = self._create_token()
        with freeze_time("2026-01-01"):
            subscriptions = self.subscription | self._create_subscription()
            subscriptions |= self._create_subscription()
        subscriptions.payment_token_id = token
        failing = subscriptions[1]
        original = type(failing)._renewal_charge

        def charge_or_fail(orders, invoices):
            if failing in orders:
                raise RuntimeError("provider unreachable")
            return original(orders, invoices)

        with (
            freeze_time("2026-01-01"),
            patch.object(type(failing), "_renewal_charge", charge_or_fail),
            mute_logger(ENGINE_LOGGER),
        ):
            self._run_renewal()
        # Its invoice may be billed with the batch, but it is neither charged
        # nor paid.
        self.assertFalse(
            self.env["payment.transaction"].search(
                [("invoice_ids", "in", failing.subscription_invoice_ids.ids)]
            )
        )
        self.assertNotIn(
            "paid", failing.subscription_invoice_ids.mapped("payment_state")
        )
        self.assertEqual(failing.next_invoice_date, date(2026, 1, 1))
        self.assertEqual(
            (subscriptions - failing).mapped("next_invoice_date"),
            [date(2026, 2, 1)] * 2,
        )
        with freeze_time("2026-01-01"):
            self._run_renewal()
        for subscription in subscriptions:
            self.assertEqual(len(subscription.subscription_invoice_ids), 1)
            self.assertEqual(subscription.next_invoice_date, date(2026, 2, 1))
        transactions = self.env["payment.transaction"].search(
            [("invoice_ids", "in", subscriptions.subscription_invoice_ids.ids)]
        )
        self.assertEqual(len(transactions), 3)

    def test_expired_card_goes_to_renew(self):
        self.subscription.payment_token_id = self._create_token(
            expiry_date=date(2025, 12, 31)
        )
        self.assertTrue(self.subscription.payment_token_id.is_expired)
        with freeze_time("2026-01-01"):
            self._run_renewal()
        self.assertEqual(self.subscription.subscription_state, "to_renew")
        self.assertEqual(self.subscription.renewal_deadline, date(2026, 1, 8))
        self.assertFalse(self.subscription.subscription_invoice_ids)

    def test_declined_card_goes_to_renew_with_open_invoice(self):
        self.subscription.payment_token_id = self._create_token(state="error")
        with freeze_time("2026-01-01"):
            self._run_renewal()
            self._run_renewal()
        self.assertEqual(self.subscription.subscription_state, "to_renew")
        self.assertEqual(self.subscription.renewal_deadline, date(2026, 1, 8))
        invoice = self.subscription.subscription_invoice_ids
        self.assertEqual(len(invoice), 1)
        self.assertEqual(invoice.payment_state, "not_paid")
        transactions = self.env["payment.transaction"].search(
            [("invoice_ids", "in", invoice.ids)]
        )
        self.assertEqual(transactions.mapped("state"), ["error"])

    def test_recovery_with_new_card_during_grace(self):
        with freeze_time("2026-01-01"):
            self._run_renewal()
        with freeze_time("2026-01-05"):
            paid = self.subscription._subscription_set_payment_token(
                self._create_token()
            )
        self.assertTrue(paid)
        self.assertEqual(self.subscription.subscription_state, "in_progress")
        self.assertFalse(self.subscription.renewal_deadline)
        self.assertEqual(self.subscription.next_invoice_date, date(2026, 2, 1))
        self.assertEqual(len(self.subscription.subscription_invoice_ids), 1)
        with freeze_time("2026-01-09"):
            self._run_renewal()
        self.assertEqual(self.subscription.subscription_state, "in_progress")
        self.assertEqual(self.database.access_state, "active")

    def test_recovery_by_paying_open_invoice(self):
        self.subscription.payment_token_id = self._create_token(state="error")
        with freeze_time("2026-01-01"):
            self._run_renewal()
        invoice = self.subscription.subscription_invoice_ids
        with freeze_time("2026-01-03"):
            self.env["account.payment.register"].with_context(
                active_model="account.move", active_ids=invoice.ids
            ).create({})._create_payments()
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))
        self.assertEqual(self.subscription.subscription_state, "in_progress")
        self.assertFalse(self.subscription.renewal_deadline)
        self.assertEqual(self.subscription.next_invoice_date, date(2026, 2, 1))

    def test_declined_new_card_stays_to_renew(self):
        with freeze_time("2026-01-01"):
            self._run_renewal()
        with freeze_time("2026-01-02"):
            paid = self.subscription._subscription_set_payment_token(
                self._create_token(state="error")
            )
        self.assertFalse(paid)
        self.assertEqual(self.subscription.subscription_state, "to_renew")
        self.assertEqual(self.subscription.renewal_deadline, date(2026, 1, 8))

    def test_foreign_token_refused(self):
        foreign = self._create_token(partner=self.other_customer)
        with self.assertRaisesRegex(ValidationError, "Globex"):
            self.subscription.payment_token_id = foreign
        with self.assertRaisesRegex(ValidationError, "Globex"):
            self.subscription._subscription_set_payment_token(foreign)
        self.subscription.payment_token_id = self._create_token(
            partner=self.customer_contact
        )

    def test_reminders_three_and_one_day_before_deadline(self):
        sent_on = []
        for day in range(1, 9):
            with freeze_time(date(2026, 1, day)):
                self._run_renewal()
                self._run_renewal()
                mails = self.env["mail.mail"].search(
                    [
                        ("res_id", "=", self.subscription.id),
                        ("model", "=", "sale.order"),
                        ("subject", "ilike", "left to renew"),
                    ]
                )
                sent_on.append(len(mails))
        # Reminders go out on Jan 5 (3 days left) and Jan 7 (1 day left), once each.
        self.assertEqual(sent_on, [0, 0, 0, 0, 1, 1, 2, 2])

    def _card_expiring_before_renewal(self):
        """A card that expires on Jan 20, before the renewal of Feb 1."""
        self.subscription.write(
            {
                "payment_token_id": self._create_token(
                    expiry_date=date(2026, 1, 20)
                ).id,
                "next_invoice_date": date(2026, 2, 1),
            }
        )

    def test_card_expiry_warning(self):
        self._card_expiring_before_renewal()
        with freeze_time("2026-01-01"):
            self._run_renewal()
        self.assertFalse(
            self._queued_mails(
                self.subscription, "mail_template_subscription_card_expiring"
            )
        )
        with freeze_time("2026-01-02"):
            self._run_renewal()
            self._run_renewal()
        self.assertEqual(
            len(
                self._queued_mails(
                    self.subscription, "mail_template_subscription_card_expiring"
                )
            ),
            1,
        )

    def test_card_expiry_warning_that_fails_holds_back_nothing(self):
        self._card_expiring_before_renewal()
        with freeze_time("2026-01-02"):
            due = self._create_subscription()
        SaleOrder = type(self.env["sale.order"])
        original = SaleOrder._subscription_send_mail

        def send_mail(orders, template_xmlid):
            if template_xmlid == "mail_template_subscription_card_expiring":
                raise ValueError("broken template")
            return original(orders, template_xmlid)

        with (
            freeze_time("2026-01-02"),
            patch.object(SaleOrder, "_subscription_send_mail", send_mail),
            self.assertLogs(ENGINE_LOGGER, "ERROR"),
        ):
            self._run_renewal()
        self.assertEqual(due.subscription_state, "to_renew")
        self.assertFalse(self.subscription.subscription_expiry_warned_date)
        # Tried again by the next run.
        with freeze_time("2026-01-03"):
            self._run_renewal()
        self.assertEqual(
            len(
                self._queued_mails(
                    self.subscription, "mail_template_subscription_card_expiring"
                )
            ),
            1,
        )

    def test_deleted_card_leaves_subscription_without_method(self):
        token = self._create_token()
        self.subscription.payment_token_id = token
        token.active = False
        self.assertFalse(self.subscription.payment_token_id)

    def test_close_and_reopen_by_admin(self):
        self.subscription.action_subscription_close()
        self.assertEqual(self.subscription.subscription_notice, "closed")
        self.env["sale.order"]._cron_subscription_send_notices()
        self.assertEqual(
            len(
                self._queued_mails(
                    self.subscription, "mail_template_subscription_closed"
                )
            ),
            1,
        )
        self.assertEqual(self.subscription.subscription_state, "closed")
        self.assertEqual(self.subscription.close_reason, "manual")
        self.assertEqual(self.database.access_state, "suspended")
        self.subscription.action_subscription_reopen()
        self.assertEqual(self.subscription.subscription_state, "in_progress")
        self.assertFalse(self.subscription.close_reason)
        self.assertEqual(self.database.access_state, "active")
        self.assertIn("Access restored", self.database.message_ids[0].body)

    def test_state_changes_tracked(self):
        with freeze_time("2026-01-01"):
            self.env["sale.order"].with_context(
                mail_notrack=False, tracking_disable=False
            )._cron_subscription_renewal()
        self.env.flush_all()
        self.env.cr.precommit.run()
        tracked = self.subscription.message_ids.tracking_value_ids.filtered(
            lambda value: value.field_id.name == "subscription_state"
        )
        self.assertIn("To Renew", tracked.mapped("new_value_char"))

    def test_upsell_quote_changes_lines_from_next_period(self):
        action = self.subscription.action_subscription_new_quotation()
        quote = self.env["sale.order"].browse(action["res_id"])
        self.assertFalse(quote.is_subscription)
        self.assertEqual(quote.origin_subscription_id, self.subscription)
        quote.order_line = [
            (0, 0, {"product_id": self.user_product.id, "product_uom_qty": 2}),
        ]
        quote.action_confirm()
        users = self.subscription.order_line.filtered(
            lambda line: line.product_id == self.user_product
        )
        self.assertEqual(users.product_uom_qty, 5)
        self.subscription.payment_token_id = self._create_token()
        with freeze_time("2026-01-01"):
            self._run_renewal()
        self.assertEqual(
            self.subscription.subscription_invoice_ids.amount_untaxed, 200.0
        )

    def test_ask_changes_todo_goes_to_the_customers_salesperson(self):
        """As core's upsell activity: the order's salesperson, else the customer's."""
        salesperson = new_test_user(
            self.env, login="acme_rep", groups="sales_team.group_sale_salesman"
        )
        self.customer.user_id = salesperson
        quote = self.env["sale.order"].create(
            {
                "partner_id": self.customer_contact.id,
                "user_id": False,
                "order_line": [Command.create({"product_id": self.app.id})],
            }
        )
        quote._action_ask_changes("Two more users", author=self.customer_contact)
        self.assertEqual(quote.activity_ids.user_id, salesperson)
