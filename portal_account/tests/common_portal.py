# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import re
from datetime import timedelta
from urllib.parse import urlsplit

from odoo import Command, fields
from odoo.tests import HttpCase, new_test_user

from .common import SubscriptionCommon

CSRF_RE = re.compile(r'name="csrf_token"\s+value="([^"]+)"')


class PortalAccountHttpCommon(SubscriptionCommon, HttpCase):
    """Two customers with a portal user each, subscriptions, cards and invoices."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.today = fields.Date.context_today(cls.env.user)
        cls.other_contact = cls.env["res.partner"].create(
            {
                "name": "Gus Globex",
                "parent_id": cls.other_customer.id,
                "email": "gus@example.com",
            }
        )
        cls.portal_user = new_test_user(
            cls.env,
            login="prt_ann",
            groups="base.group_portal",
            partner_id=cls.customer_contact.id,
            company_id=cls.company.id,
        )
        cls.other_portal_user = new_test_user(
            cls.env,
            login="prt_gus",
            groups="base.group_portal",
            partner_id=cls.other_contact.id,
            company_id=cls.company.id,
        )
        cls.salesman = new_test_user(
            cls.env,
            login="prt_sam",
            groups="sales_team.group_sale_salesman",
            name="Sam Seller",
            email="sam.seller@example.com",
            company_id=cls.company.id,
        )
        cls.provider.allow_tokenization = True

        # Acme: one running subscription with a card, one waiting for a card.
        cls.token = cls._create_token(
            cls.customer, expiry_date=cls.today + timedelta(days=400)
        )
        cls.subscription = cls._create_subscription(
            cls.customer, token=cls.token, start=cls.today - timedelta(days=20)
        )
        cls.subscription.next_invoice_date = cls.today + timedelta(days=10)
        cls.subscription_to_renew = cls._create_subscription(
            cls.customer, start=cls.today - timedelta(days=40)
        )
        cls.subscription_to_renew.write(
            {
                "subscription_state": "to_renew",
                "next_invoice_date": cls.today - timedelta(days=2),
                "renewal_deadline": cls.today + timedelta(days=5),
            }
        )
        cls.database = cls.env["hosted.database"].create(
            {
                "name": "acme-prod",
                "url": "https://acme-prod.example.com",
                "partner_id": cls.customer.id,
                "subscription_id": cls.subscription.id,
            }
        )

        # Globex: its own subscription, card and a recognisable invoice.
        cls.other_token = cls._create_token(cls.other_customer, payment_details="9Q7Z")
        cls.other_subscription = cls._create_subscription(
            cls.other_customer, token=cls.other_token, start=cls.today
        )
        cls.other_subscription.next_invoice_date = cls.today + timedelta(days=30)

        cls.invoice_unpaid = cls._create_invoice(cls.customer, 123.45, cls.subscription)
        cls.invoice_paid = cls._create_invoice(cls.customer, 80.0)
        cls._pay_invoice(cls.invoice_paid)
        cls.other_invoice = cls._create_invoice(cls.other_customer, 777.77)

        # Quotation of Acme, sent so that it shows in the portal.
        cls.quotation = cls.env["sale.order"].create(
            {
                "partner_id": cls.customer.id,
                "user_id": cls.salesman.id,
                "order_line": [
                    Command.create({"product_id": cls.app.id, "product_uom_qty": 2}),
                ],
            }
        )
        cls.quotation.action_quotation_sent()
        cls.quotation.message_subscribe(cls.customer.ids)
        cls.other_quotation = cls.env["sale.order"].create(
            {
                "partner_id": cls.other_customer.id,
                "order_line": [
                    Command.create({"product_id": cls.app.id, "product_uom_qty": 9}),
                ],
            }
        )
        cls.other_quotation.action_quotation_sent()
        cls.other_quotation.message_subscribe(cls.other_customer.ids)

    @classmethod
    def _create_invoice(cls, partner, amount, subscription=None):
        invoice = cls.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": partner.id,
                "invoice_date": cls.today,
                "subscription_id": subscription and subscription.id,
                "invoice_line_ids": [
                    Command.create(
                        {
                            "name": "Service",
                            "quantity": 1,
                            "price_unit": amount,
                            "tax_ids": [Command.clear()],
                        }
                    )
                ],
            }
        )
        invoice.action_post()
        return invoice

    @classmethod
    def _pay_invoice(cls, invoice):
        cls.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=invoice.ids
        ).create({})._create_payments()

    # ------------------------------------------------------------
    # HTTP helpers
    # ------------------------------------------------------------

    def _login(self, user):
        if user:
            self.authenticate(user.login, user.login)
        else:
            self.authenticate(None, None)

    def _get(self, url):
        return self.url_open(url, allow_redirects=False)

    def _csrf_token(self, url):
        """Read the CSRF token of the form rendered at ``url``."""
        response = self.url_open(url)
        self.assertEqual(response.status_code, 200, url)
        match = CSRF_RE.search(response.text)
        self.assertTrue(match, f"no CSRF token on {url}")
        return match.group(1)

    def _post(self, url, data):
        return self.url_open(url, data=data, allow_redirects=False)

    def assertRedirect(self, response, path, msg=None):
        """Assert ``response`` is a redirection to ``path`` (path and query)."""
        self.assertIn(response.status_code, (302, 303), msg)
        location = urlsplit(response.headers["Location"])
        target = location.path + (f"?{location.query}" if location.query else "")
        self.assertEqual(target, path, msg)

    def assertContains(self, response, *texts):
        for text in texts:
            self.assertTrue(text in response.text, f"{text!r} not in {response.url}")

    def assertNotLeaking(self, response, *texts):
        for text in texts:
            self.assertFalse(text in response.text, f"{text!r} leaks in {response.url}")
