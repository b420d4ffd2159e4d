# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import re
from datetime import date
from urllib.parse import urlsplit

from freezegun import freeze_time

from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from ..models.sale_order_dunning import RETRY_DAYS_PARAM, sanitize_decline_message
from .common import SubscriptionCommon
from .common_portal import PortalAccountHttpCommon


@tagged("post_install", "-at_install")
class TestDunning(SubscriptionCommon):
    """Card retries at most once a day, decline emails, the dunning actions."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.declined_card = cls._create_token(state="error", payment_details="1881")
        with freeze_time("2026-01-01"):
            cls.subscription = cls._create_subscription(token=cls.declined_card)
            cls.database = cls.env["hosted.database"].create(
                {
                    "name": "acme",
                    "url": "https://acme.example.com",
                    "partner_id": cls.customer.id,
                    "subscription_id": cls.subscription.id,
                }
            )

    def _charges(self):
        return self._transactions(self._period_invoices(self.subscription))

    def _decline_mails(self):
        return self.env["mail.mail"].search(
            [
                ("model", "=", "sale.order"),
                ("res_id", "=", self.subscription.id),
                ("subject", "ilike", "was declined"),
            ]
        )

    def _run_days(self, *days, runs=3):
        for day in days:
            with freeze_time(day):
                for __ in range(runs):
                    self._run_renewal()

    def test_one_decline_a_day_however_often_the_action_runs(self):
        self._run_days("2026-01-01")
        self.assertEqual(self.subscription.subscription_state, "to_renew")
        self.assertEqual(len(self._charges()), 1)
        self._run_days("2026-01-02", "2026-01-03")
        charges = self._charges()
        self.assertEqual(len(charges), 3)
        self.assertEqual(set(charges.mapped("state")), {"error"})
        # Each try is logged on the subscription with the provider's message.
        logged = self.subscription.message_ids.filtered(
            lambda m: m.message_type == "notification"
            and "The card was declined (test card)." in (m.body or "")
        )
        self.assertEqual(len(logged), 3)
        with freeze_time("2026-01-03"):
            self.subscription.invalidate_recordset()
            self.assertEqual(self.subscription.renewal_try_count, 3)
            self.assertEqual(self.subscription.renewal_next_try_date, date(2026, 1, 4))
            self.assertEqual(
                self.subscription.renewal_decline_message,
                "The card was declined (test card).",
            )

    def test_retries_on_the_days_of_the_setting(self):
        self.env["ir.config_parameter"].set_param(RETRY_DAYS_PARAM, "2, 5")
        self._run_days("2026-01-01", "2026-01-02")
        self.assertEqual(len(self._charges()), 1, "day 1 is not a retry day")
        with freeze_time("2026-01-02"):
            self.subscription.invalidate_recordset()
            self.assertEqual(self.subscription.renewal_next_try_date, date(2026, 1, 3))
            self.assertEqual(self.subscription.renewal_dunning_state, "retry_scheduled")
        self._run_days("2026-01-03", "2026-01-04")
        self.assertEqual(len(self._charges()), 2)
        with freeze_time("2026-01-04"):
            self.subscription.invalidate_recordset()
            self.assertEqual(self.subscription.renewal_next_try_date, date(2026, 1, 6))
        self._run_days("2026-01-06", "2026-01-07", "2026-01-08")
        self.assertEqual(len(self._charges()), 3)
        with freeze_time("2026-01-08"):
            self.subscription.invalidate_recordset()
            self.assertEqual(self.subscription.renewal_dunning_state, "no_retry_left")
        # The grace period ends as before: closed, databases suspended.
        self._run_days("2026-01-09", runs=1)
        self.assertEqual(self.subscription.subscription_state, "closed")
        self.assertEqual(self.database.access_state, "suspended")

    def test_card_attached_from_the_portal_is_charged_at_once(self):
        self._run_days("2026-01-01")
        good_card = self._create_token(payment_details="4242")
        with freeze_time("2026-01-01"):
            self.subscription._subscription_set_payment_token(good_card)
        self.assertEqual(self.subscription.subscription_state, "in_progress")
        self.assertEqual(self.subscription.next_invoice_date, date(2026, 2, 1))
        self.assertEqual(
            self._charges().sorted("id").mapped("state"), ["error", "done"]
        )

    def test_try_now_respects_once_a_day_unless_forced(self):
        self._run_days("2026-01-01", runs=1)
        with freeze_time("2026-01-01"):
            with self.assertRaisesRegex(UserError, "already charged today"):
                self.subscription.action_renewal_try_now()
            self.assertEqual(len(self._charges()), 1)
            self.subscription.action_renewal_force_try()
        self.assertEqual(len(self._charges()), 2)
        self.assertTrue(
            self.subscription.message_ids.filtered(
                lambda m: "forced a new charge" in (m.body or "")
            )
        )
        with freeze_time("2026-01-02"):
            self.subscription.action_renewal_try_now()
            self.assertEqual(len(self._charges()), 3)
            # The run of the day does not try the card a second time.
            self._run_renewal()
            self.assertEqual(len(self._charges()), 3)
            with self.assertRaisesRegex(UserError, "already charged today"):
                self.subscription.action_renewal_try_now()
        self._set_card_outcome(self.declined_card, "done")
        with freeze_time("2026-01-03"):
            self.subscription.action_renewal_try_now()
        self.assertEqual(self.subscription.subscription_state, "in_progress")

    def test_try_now_needs_a_card_and_a_renewal(self):
        with freeze_time("2026-01-01"), self.assertRaisesRegex(UserError, "waiting"):
            self.subscription.action_renewal_try_now()
        self._run_days("2026-01-01", runs=1)
        self.subscription.payment_token_id = False
        with freeze_time("2026-01-02"), self.assertRaisesRegex(UserError, "no payment"):
            self.subscription.action_renewal_try_now()

    def test_extend_grace_logs_the_reason(self):
        self._run_days("2026-01-01", runs=1)
        self.assertEqual(self.subscription.renewal_deadline, date(2026, 1, 8))
        action = self.subscription.action_renewal_extend_grace()
        wizard = (
            self.env[action["res_model"]]
            .with_context(**action["context"])
            .create({"days": 5, "reason": "New card on its way"})
        )
        wizard.action_extend()
        self.assertEqual(self.subscription.renewal_deadline, date(2026, 1, 13))
        self.assertTrue(
            self.subscription.message_ids.filtered(
                lambda m: "New card on its way" in (m.body or "")
                and "5 day(s)" in (m.body or "")
            )
        )
        # Still open on the old deadline's next day.
        self._run_days("2026-01-09", runs=1)
        self.assertEqual(self.subscription.subscription_state, "to_renew")
        with self.assertRaises(ValidationError):
            wizard.days = 0

    def test_decline_email(self):
        self._run_days("2026-01-01")
        mail = self._decline_mails()
        self.assertEqual(len(mail), 1, "one decline email, however many runs")
        self.assertFalse(
            self._queued_mails(self.subscription, "mail_template_subscription_to_renew")
        )
        invoice = self._period_invoices(self.subscription)
        self.assertTrue(invoice.access_token)
        body = mail.body_html
        self.assertIn("The card was declined (test card).", body)
        self.assertIn("1881", body)
        self.assertIn(
            f"/my/invoices/{invoice.id}?access_token={invoice.access_token}", body
        )
        self.assertIn(f"/my/subscriptions/{self.subscription.id}/payment_method", body)
        self.assertIn("01/02/2026", body, "the next try")
        self.assertIn("01/08/2026", body, "the deadline")
        self.assertIn("<strong>7</strong> day(s) left", body)
        # Later declines are logged and retried, not emailed again.
        self._run_days("2026-01-02")
        self.assertEqual(len(self._decline_mails()), 1)

    def test_decline_message_sanitized(self):
        self.assertEqual(
            sanitize_decline_message(
                "<b>Declined</b>\n card 4242 4242 4242 4242: <script>x()</script>"
            ),
            "Declined card …: x()",
        )
        self.assertEqual(len(sanitize_decline_message("x" * 500)), 200)
        self.assertEqual(sanitize_decline_message(False), "")


@tagged("post_install", "-at_install")
class TestRenewalNotice(SubscriptionCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.yearly = cls.env["subscription.plan"].create(
            {
                "name": "Yearly",
                "billing_period_unit": "year",
                "renewal_notice_days": 30,
            }
        )
        cls.card = cls._create_token(payment_details="4242")
        with freeze_time("2026-01-01"):
            cls.subscription = cls._create_subscription(
                token=cls.card,
                start=date(2027, 1, 1),
                subscription_plan_id=cls.yearly.id,
            )

    def _notices(self):
        return self._queued_mails(
            self.subscription, "mail_template_subscription_renewal_notice"
        )

    def test_plan_default_and_constraint(self):
        self.assertEqual(self.plan.renewal_notice_days, 0)
        with self.assertRaisesRegex(ValidationError, "renewal notice"):
            self.yearly.renewal_notice_days = -1

    def test_notice_sent_once(self):
        with freeze_time("2026-12-01"):
            self._run_renewal()
        self.assertFalse(self._notices(), "31 days before: too early")
        with freeze_time("2026-12-02"):
            self._run_renewal()
            self._run_renewal()
        mail = self._notices()
        self.assertEqual(len(mail), 1)
        self.assertIn("01/01/2027", mail.subject)
        self.assertIn("4242", mail.body_html)
        # The application and three users, with the company's 15% tax.
        self.assertIn("$\xa0184.00", mail.body_html)
        self.assertIn(
            f"/my/subscriptions/{self.subscription.id}/payment_method", mail.body_html
        )
        with freeze_time("2026-12-03"):
            self._run_renewal()
        self.assertEqual(len(self._notices()), 1)

    def test_no_notice_without_notice_days(self):
        self.yearly.renewal_notice_days = 0
        with freeze_time("2026-12-20"):
            self._run_renewal()
        self.assertFalse(self._notices())


@tagged("post_install", "-at_install")
class TestDeclineEmailLinks(PortalAccountHttpCommon):
    """The links of the decline email open the right pages, and paying the
    invoice through it gives the subscription back."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.declined_card = cls._create_token(
            cls.customer, state="error", payment_details="1881"
        )
        cls.declined = cls._create_subscription(
            cls.customer, token=cls.declined_card, start=cls.today
        )
        cls.declined_database = cls.env["hosted.database"].create(
            {
                "name": "acme-declined",
                "url": "https://acme-declined.example.com",
                "partner_id": cls.customer.id,
                "subscription_id": cls.declined.id,
            }
        )
        cls.env["sale.order"]._cron_subscription_renewal()
        cls.env["sale.order"]._cron_subscription_send_notices()
        cls.invoice = cls.declined.renewal_open_invoice_id
        cls.mail = cls.env["mail.mail"].search(
            [
                ("model", "=", "sale.order"),
                ("res_id", "=", cls.declined.id),
                ("subject", "ilike", "was declined"),
            ]
        )
        cls.links = {
            urlsplit(href).path: href
            for href in re.findall(r'href="([^"]+)"', cls.mail.body_html or "")
        }

    def _link(self, path):
        href = self.links.get(path)
        self.assertTrue(href, f"{path} not linked from the email: {self.links}")
        parts = urlsplit(href)
        return f"{parts.path}?{parts.query}" if parts.query else parts.path

    def test_links_present(self):
        self.assertEqual(self.declined.subscription_state, "to_renew")
        self.assertEqual(len(self.mail), 1)
        self.assertTrue(self.invoice)
        self.assertEqual(
            self._link(f"/my/invoices/{self.invoice.id}"),
            f"/my/invoices/{self.invoice.id}?access_token={self.invoice.access_token}",
        )
        self._link(f"/my/subscriptions/{self.declined.id}/payment_method")

    def test_invoice_link_for_the_owner_only(self):
        pay_link = self._link(f"/my/invoices/{self.invoice.id}")
        for actor in (None, self.portal_user):
            self._login(actor)
            response = self._get(pay_link)
            self.assertEqual(response.status_code, 200, actor)
            self.assertContains(response, self.invoice.name)
        # Another customer, or a wrong token, is sent back to /my.
        self._login(self.other_portal_user)
        self.assertRedirect(self._get(f"/my/invoices/{self.invoice.id}"), "/my")
        self._login(None)
        self.assertRedirect(
            self._get(f"/my/invoices/{self.invoice.id}?access_token=wrong"), "/my"
        )

    def test_payment_method_link_for_the_owner_only(self):
        link = self._link(f"/my/subscriptions/{self.declined.id}/payment_method")
        self._login(self.portal_user)
        response = self._get(link)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, self.declined.name)
        # Another customer: without the link's token, sent back to /my; with
        # it, none of the owner's cards, and none of them can be put on it.
        self._login(self.other_portal_user)
        self.assertRedirect(self._get(urlsplit(link).path), "/my")
        response = self._get(link)
        self.assertNotLeaking(response, "1881", self.token.payment_details)
        response = self._post(
            link,
            {
                # A form of the other customer's own, for their session's token.
                "csrf_token": self._csrf_token(
                    f"/my/subscriptions/{self.other_subscription.id}/payment_method"
                ),
                "token_id": self.token.id,
            },
        )
        self.assertRedirect(
            response,
            f"/my/subscriptions/{self.declined.id}/payment_method?error=invalid_token",
        )
        self.assertEqual(self.declined.payment_token_id, self.declined_card)
        self._login(None)
        response = self._get(link)
        self.assertIn(response.status_code, (302, 303))
        self.assertIn("/web/login", response.headers["Location"])

    def test_paying_through_the_link_restores_access(self):
        self.declined_database._suspend_access()
        self._login(None)
        self.assertEqual(
            self._get(self._link(f"/my/invoices/{self.invoice.id}")).status_code, 200
        )
        processing_values = self.make_jsonrpc_request(
            f"/invoice/transaction/{self.invoice.id}",
            {
                "access_token": self.invoice.access_token,
                "provider_id": self.provider.id,
                "payment_method_id": self.provider.payment_method_ids.id,
                "token_id": None,
                "amount": self.invoice.amount_residual,
                "flow": "direct",
                "tokenization_requested": False,
                "landing_route": self.invoice.get_portal_url(),
            },
        )
        transaction = self.env["payment.transaction"].search(
            [("reference", "=", processing_values["reference"])]
        )
        self.assertEqual(transaction.invoice_ids, self.invoice)
        # What the provider's notification, then core's post-processing, do.
        transaction._set_done()
        transaction._post_process()
        self.assertIn(self.invoice.payment_state, ("paid", "in_payment"))
        self.assertEqual(self.declined.subscription_state, "in_progress")
        self.assertFalse(self.declined.renewal_deadline)
        self.assertEqual(self.declined_database.access_state, "active")
        self.env["sale.order"]._cron_subscription_send_notices()
        self.assertEqual(
            len(
                self._queued_mails(
                    self.declined, "mail_template_subscription_payment_done"
                )
            ),
            1,
        )
