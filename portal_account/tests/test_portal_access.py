# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import base64
from datetime import timedelta

from odoo.tests import tagged
from odoo.tools import mute_logger

from .common_portal import PortalAccountHttpCommon


@tagged("post_install", "-at_install")
class TestPortalAccess(PortalAccountHttpCommon):
    """Who may open the new portal pages: owner, other customer, anonymous, tokens."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pack = cls.env["success.pack"].create(
            {
                "name": "Acme Pack",
                "partner_id": cls.customer.id,
                "expert_id": cls.salesman.id,
                "hours_purchased": 10,
            }
        )
        cls.env["success.pack.log"].create(
            {"pack_id": cls.pack.id, "hours": 2.5, "name": "Onboarding"}
        )
        cls.other_pack = cls.env["success.pack"].create(
            {
                "name": "Globex Gold Pack",
                "partner_id": cls.other_customer.id,
                "hours_purchased": 40,
            }
        )

    def _assert_login_redirect(self, response):
        self.assertIn(response.status_code, (302, 303))
        self.assertIn("/web/login", response.headers["Location"])

    # ------------------------------------------------------------
    # /my
    # ------------------------------------------------------------

    def test_home_summary_owner(self):
        self._login(self.portal_user)
        response = self._get("/my")
        self.assertEqual(response.status_code, 200)
        # Amount due: the unpaid invoice only.
        self.assertContains(response, "123.45")
        self.assertContains(response, "o_portal_renewal_banner")
        self.assertContains(
            response,
            f"/my/subscriptions/{self.subscription_to_renew.id}/payment_method",
        )
        self.assertContains(response, "5 day(s) left")
        self.assertNotLeaking(response, "777.77", self.other_subscription.name)

    def test_home_summary_other_customer(self):
        self._login(self.other_portal_user)
        response = self._get("/my")
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "777.77")
        self.assertNotLeaking(response, "o_portal_renewal_banner")
        self.assertNotLeaking(
            response, "123.45", self.subscription.name, self.subscription_to_renew.name
        )

    def test_home_anonymous(self):
        self._login(None)
        self._assert_login_redirect(self._get("/my"))

    def test_home_counters(self):
        self._login(self.portal_user)
        counters = self.make_jsonrpc_request(
            "/my/counters",
            {"counters": ["subscription_count", "success_pack_count", "ticket_count"]},
        )
        self.assertEqual(counters["subscription_count"], 2)
        self.assertEqual(counters["success_pack_count"], 1)
        self._login(self.other_portal_user)
        counters = self.make_jsonrpc_request(
            "/my/counters", {"counters": ["subscription_count", "success_pack_count"]}
        )
        self.assertEqual(counters, {"subscription_count": 1, "success_pack_count": 1})

    def test_home_cards(self):
        self._login(self.portal_user)
        response = self._get("/my")
        for counter in ("subscription_count", "success_pack_count"):
            self.assertContains(response, f'data-placeholder_count="{counter}"')
        # OCA's Tickets card has no counter: it is always shown.
        self.assertContains(response, 'href="/my/tickets"', "Submit a ticket")

    # ------------------------------------------------------------
    # /my/subscriptions
    # ------------------------------------------------------------

    def test_subscriptions_list(self):
        self._login(self.portal_user)
        response = self._get("/my/subscriptions")
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, self.subscription.name)
        self.assertContains(response, self.subscription_to_renew.name)
        self.assertNotLeaking(
            response, self.other_subscription.name, self.quotation.name
        )

        self._login(self.other_portal_user)
        response = self._get("/my/subscriptions")
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, self.other_subscription.name)
        self.assertNotLeaking(
            response, self.subscription.name, self.subscription_to_renew.name
        )

        self._login(None)
        self._assert_login_redirect(self._get("/my/subscriptions"))

    def test_subscriptions_list_filters_and_sortings(self):
        self._login(self.portal_user)
        response = self._get("/my/subscriptions?filterby=to_renew")
        self.assertContains(response, self.subscription_to_renew.name)
        self.assertNotLeaking(response, self.subscription.name)
        response = self._get("/my/subscriptions?filterby=closed")
        self.assertContains(response, "There are currently no subscriptions")
        for sortby in ("date", "name", "next_invoice", "state"):
            response = self._get(f"/my/subscriptions?sortby={sortby}")
            self.assertEqual(response.status_code, 200, sortby)
            self.assertContains(response, self.subscription.name)
        # Unknown keys fall back to the defaults.
        response = self._get("/my/subscriptions?sortby=nope&filterby=nope")
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, self.subscription.name)
        self.assertContains(response, self.subscription_to_renew.name)
        response = self._get("/my/subscriptions/page/2")
        self.assertEqual(response.status_code, 200)

    def test_subscription_page_owner(self):
        self._login(self.portal_user)
        response = self._get(f"/my/subscriptions/{self.subscription.id}")
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, self.subscription.name)
        self.assertContains(response, "Sales App")
        self.assertContains(response, self.plan.name)
        self.assertContains(response, "acme-prod")
        self.assertContains(response, "4Q2Z")
        self.assertContains(response, self.invoice_unpaid.name)
        self.assertContains(
            response, f"/new/ticket?subscription_id={self.subscription.id}"
        )
        self.assertContains(
            response, f"/my/subscriptions/{self.subscription.id}/payment_method"
        )
        self.assertContains(response, "/my/payment_method")
        self.assertNotLeaking(response, self.other_subscription.name, "9Q7Z", "777.77")

    def test_subscription_page_card_expiring(self):
        self.token.expiry_date = self.subscription.next_invoice_date - timedelta(days=1)
        self._login(self.portal_user)
        response = self._get(f"/my/subscriptions/{self.subscription.id}")
        self.assertContains(response, "This card expires before the next invoice")

    def test_subscription_page_other_customer(self):
        self._login(self.other_portal_user)
        response = self._get(f"/my/subscriptions/{self.subscription.id}")
        self.assertRedirect(response, "/my")

    def test_subscription_page_anonymous_tokens(self):
        self._login(None)
        url = f"/my/subscriptions/{self.subscription.id}"
        self.assertRedirect(self._get(url), "/my")
        self.assertRedirect(self._get(f"{url}?access_token=wrong"), "/my")
        token = self.subscription._portal_ensure_token()
        # Another subscription's token does not open this one.
        other_token = self.other_subscription._portal_ensure_token()
        self.assertRedirect(self._get(f"{url}?access_token={other_token}"), "/my")
        response = self._get(f"{url}?access_token={token}")
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, self.subscription.name)
        self.assertNotLeaking(response, self.other_subscription.name)

    def test_subscription_page_not_a_subscription(self):
        self._login(self.portal_user)
        self.assertRedirect(self._get(f"/my/subscriptions/{self.quotation.id}"), "/my")
        self.assertRedirect(self._get("/my/subscriptions/999999999"), "/my")

    # ------------------------------------------------------------
    # /my/subscriptions/<id>/payment_method
    # ------------------------------------------------------------

    def test_payment_method_page_owner(self):
        expired = self._create_token(
            self.customer,
            expiry_date=self.today.replace(year=self.today.year - 1),
            payment_details="1111",
        )
        self._login(self.portal_user)
        response = self._get(
            f"/my/subscriptions/{self.subscription_to_renew.id}/payment_method"
        )
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, f'value="{self.token.id}"')
        self.assertNotLeaking(response, f'value="{expired.id}"')
        self.assertContains(response, "o_payment_form")  # core's form to add a card
        self.assertNotLeaking(response, "9Q7Z", self.other_subscription.name)

    def test_payment_method_page_others(self):
        url = f"/my/subscriptions/{self.subscription.id}/payment_method"
        self._login(self.other_portal_user)
        self.assertRedirect(self._get(url), "/my")
        self._login(None)
        self.assertRedirect(self._get(url), "/my")
        self.assertRedirect(self._get(f"{url}?access_token=wrong"), "/my")
        token = self.subscription._portal_ensure_token()
        response = self._get(f"{url}?access_token={token}")
        self._assert_login_redirect(response)
        self.assertNotLeaking(response, "4Q2Z")

    # ------------------------------------------------------------
    # /my/success_packs
    # ------------------------------------------------------------

    def test_success_packs(self):
        self._login(self.portal_user)
        response = self._get("/my/success_packs")
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Acme Pack")
        self.assertContains(response, "Sam Seller")
        self.assertContains(response, "sam.seller@example.com")
        self.assertContains(
            response, f"/web/image/success.pack/{self.pack.id}/expert_avatar_128"
        )
        self.assertContains(response, "7.5")  # hours left
        self.assertNotLeaking(response, "Globex Gold Pack")

        self._login(self.other_portal_user)
        response = self._get("/my/success_packs")
        self.assertContains(response, "Globex Gold Pack")
        self.assertNotLeaking(response, "Acme Pack", "Sam Seller")

        self._login(None)
        self._assert_login_redirect(self._get("/my/success_packs"))

    def test_success_pack_expert_avatar(self):
        url = f"/web/image/success.pack/{self.pack.id}/expert_avatar_128"
        self._login(self.portal_user)
        response = self._get(url)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.content, base64.b64decode(self.salesman.avatar_128))
        # Another customer gets the placeholder, not the expert.
        self._login(self.other_portal_user)
        response = self._get(url)
        self.assertNotEqual(
            response.content, base64.b64decode(self.salesman.avatar_128)
        )

    # ------------------------------------------------------------
    # /my/orders/<id>/ask_changes
    # ------------------------------------------------------------

    @mute_logger("odoo.http")
    def test_ask_changes_access(self):
        url = f"/my/orders/{self.quotation.id}/ask_changes"
        self._login(self.other_portal_user)
        csrf_other = self._csrf_token("/my/account")
        response = self._post(
            url, {"csrf_token": csrf_other, "message": "Cheaper please"}
        )
        self.assertRedirect(response, "/my")

        self._login(None)
        csrf_anon = self._csrf_token("/web/login")
        response = self._post(
            url, {"csrf_token": csrf_anon, "message": "Cheaper please"}
        )
        self.assertRedirect(response, "/my")
        response = self._post(
            f"{url}?access_token=wrong",
            {"csrf_token": csrf_anon, "message": "Cheaper please"},
        )
        self.assertRedirect(response, "/my")
        self.assertFalse(self.quotation.changes_requested)

        response = self._post(
            f"{url}?access_token={self.quotation.access_token}",
            {"csrf_token": csrf_anon, "message": "Anonymous with the link"},
        )
        self.assertRedirect(
            response,
            f"/my/orders/{self.quotation.id}?access_token={self.quotation.access_token}"
            "&message=ask_changes_ok",
        )
        self.assertTrue(self.quotation.changes_requested)

    # ------------------------------------------------------------
    # /my/invoices/export
    # ------------------------------------------------------------

    def test_invoices_export_access(self):
        self._login(self.portal_user)
        response = self._get("/my/invoices/export")
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.headers["Content-Type"].startswith("text/csv"))
        self.assertIn("attachment", response.headers["Content-Disposition"])
        self.assertIn("invoices.csv", response.headers["Content-Disposition"])
        self.assertContains(response, self.invoice_unpaid.name)
        self.assertNotLeaking(response, self.other_invoice.name, "777.77")

        self._login(self.other_portal_user)
        response = self._get("/my/invoices/export")
        self.assertContains(response, self.other_invoice.name)
        self.assertNotLeaking(response, self.invoice_unpaid.name, "123.45")

        self._login(None)
        self._assert_login_redirect(self._get("/my/invoices/export"))

    # ------------------------------------------------------------
    # Tickets
    # ------------------------------------------------------------

    def test_new_ticket_subscription_prefill(self):
        self._login(self.portal_user)
        response = self._get(f"/new/ticket?subscription_id={self.subscription.id}")
        self.assertEqual(response.status_code, 200)
        self.assertContains(
            response, f'name="subscription_id" value="{self.subscription.id}"'
        )
        self.assertContains(response, self.subscription.name)
        for foreign in (
            str(self.other_subscription.id),
            str(self.quotation.id),
            "abc",
            "-1",
        ):
            response = self._get(f"/new/ticket?subscription_id={foreign}")
            self.assertEqual(response.status_code, 200)
            self.assertNotLeaking(response, 'name="subscription_id"')
            self.assertNotLeaking(response, self.other_subscription.name)

    def test_ticket_page(self):
        ticket = (
            self.env["helpdesk.ticket"]
            .sudo()
            .create(
                {
                    "name": "Cannot log in",
                    "description": "Help",
                    "partner_id": self.customer_contact.id,
                    "subscription_id": self.subscription.id,
                    "hosted_database_id": self.database.id,
                }
            )
        )
        self._login(self.portal_user)
        response = self._get(f"/my/ticket/{ticket.id}")
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, f"#{ticket.number}")
        self.assertContains(response, "o_portal_ticket_status")
        self.assertContains(response, f"/my/subscriptions/{self.subscription.id}")
        self.assertContains(response, "acme-prod")
        self._login(self.other_portal_user)
        self.assertRedirect(self._get(f"/my/ticket/{ticket.id}"), "/my")
