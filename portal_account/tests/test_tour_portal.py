# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from odoo.tests import new_test_user, tagged

from .common_portal import PortalAccountHttpCommon


@tagged("post_install", "-at_install")
class TestTourPortal(PortalAccountHttpCommon):
    """The customer's flows in a browser (tours in static/src/js/tours)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.subscription.name = "PRT Subscription"
        cls.quotation.write(
            {
                "name": "PRT Quote",
                "require_signature": False,
                "require_payment": True,
                "prepayment_percent": 1.0,
            }
        )

    def test_tour_quote_pay(self):
        # Core's payment form offers the cards of the user paying.
        self._create_token(
            self.customer_contact, expiry_date=self.today + timedelta(days=400)
        )
        self.start_tour(
            "/my/quotes", "portal_account_quote_pay", login=self.portal_user.login
        )
        self.assertEqual(self.quotation.state, "sale")
        transaction = self.quotation.transaction_ids
        self.assertEqual(transaction.state, "done")
        self.assertEqual(transaction.provider_id, self.provider)

    def test_tour_ask_changes(self):
        self.start_tour(
            "/my/quotes", "portal_account_ask_changes", login=self.portal_user.login
        )
        self.assertTrue(self.quotation.changes_requested)
        self.assertIn(
            "Please add two more users",
            self.quotation.message_ids.filtered(lambda m: m.message_type == "comment")[
                :1
            ].body,
        )

    def test_tour_change_payment_method(self):
        self._create_token(
            self.customer,
            payment_details="1111",
            expiry_date=self.today + timedelta(days=400),
        )
        self.start_tour(
            "/my", "portal_account_change_payment_method", login=self.portal_user.login
        )
        subscription = self.subscription_to_renew
        self.assertEqual(subscription.subscription_state, "in_progress")
        self.assertTrue(subscription.payment_token_id.payment_details.endswith("1111"))
        self.assertEqual(subscription.payment_token_id.provider_id, self.provider)
        self.assertIn(
            subscription.subscription_invoice_ids.payment_state, ("paid", "in_payment")
        )

    def test_tour_subscription_ticket(self):
        self.start_tour(
            "/my/subscriptions",
            "portal_account_subscription_ticket",
            login=self.portal_user.login,
        )
        ticket = (
            self.env["helpdesk.ticket"]
            .sudo()
            .search([("name", "=", "My database is slow")])
        )
        self.assertEqual(ticket.subscription_id, self.subscription)
        self.assertEqual(ticket.partner_id, self.customer_contact)

    def test_tour_invoice_pdf(self):
        self.start_tour(
            "/my/invoices", "portal_account_invoice_pdf", login=self.portal_user.login
        )
        response = self.url_open(
            self.invoice_unpaid.get_portal_url(report_type="pdf", download=True)
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.headers["Content-Type"], "application/pdf")
        self.assertIn(".pdf", response.headers["Content-Disposition"])

    def test_tour_home_cards(self):
        newcomer = self.env["res.partner"].create(
            {"name": "Newcomer Ltd", "is_company": True}
        )
        user = new_test_user(
            self.env,
            login="prt_new",
            groups="base.group_portal",
            partner_id=newcomer.id,
            company_id=self.company.id,
        )
        self.start_tour("/my", "portal_account_home_cards", login=user.login)

    def test_tour_subscription_close_undo(self):
        self.env["subscription.close.reason"].create({"name": "Moving elsewhere"})
        self.start_tour(
            "/my/subscriptions",
            "portal_account_subscription_close_undo",
            login=self.portal_user.login,
        )
        self.assertFalse(self.subscription.subscription_end_date)
        self.assertFalse(self.subscription.close_reason_id)
        self.assertEqual(self.subscription.subscription_state, "in_progress")
        notes = " ".join(self.subscription.message_ids.mapped("body"))
        author = self.portal_user.partner_id.name
        self.assertIn(f"Closing requested by {author}: Moving elsewhere", notes)
        self.assertIn(f"Closing cancelled by {author}", notes)
        # The closing's confirmation, sent before the undo cleared its date.
        self.assertTrue(
            self.env["mail.mail"].search(
                [
                    ("model", "=", "sale.order"),
                    ("res_id", "=", self.subscription.id),
                    ("subject", "ilike", "closes on"),
                ]
            )
        )

    def test_tour_subscription_add_seats(self):
        self._create_token(
            self.customer_contact, expiry_date=self.today + timedelta(days=400)
        )
        self.start_tour(
            "/my/subscriptions",
            "portal_account_subscription_add_seats",
            login=self.portal_user.login,
        )
        quote = self.subscription.subscription_quote_ids
        self.assertEqual(quote.subscription_quote_type, "upsell")
        self.assertEqual(quote.state, "sale")
        self.assertEqual(quote.transaction_ids.state, "done")
        self.assertEqual(quote.order_line.product_uom_qty, 2)
        self.assertEqual(
            quote.order_line.price_unit, self.subscription._subscription_prorate(20.0)
        )
        users = self.subscription.order_line.filtered(
            lambda line: line.product_id == self.user_product
        )
        self.assertEqual(users.product_uom_qty, 5)
        self.assertEqual(users.price_unit, 20.0)
