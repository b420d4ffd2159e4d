# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta
from unittest.mock import patch

from odoo.tests import tagged

from .common_portal import PortalAccountHttpCommon

# Measured on Odoo 18.0 CE with the data below (warm caches), plus a small margin.
# Every page lists 6 or more records, so an N+1 query breaks its budget.
# Measured: /my 42, /my/subscriptions 19, a subscription 35, /my/success_packs 14
# (the same with 2 records per list as with 6, and on /my with 1 subscription to
# renew as with 5).
QUERY_BUDGETS = {
    "/my": 44,
    "/my/subscriptions": 22,
    "subscription": 38,
    "/my/success_packs": 17,
}


@tagged("post_install", "-at_install")
class TestPortalQueries(PortalAccountHttpCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.running_subscriptions = cls.env["sale.order"]
        for index in range(6):
            token = cls._create_token(cls.customer, payment_details=f"10{index:02d}")
            subscription = cls._create_subscription(
                cls.customer, token=token, start=cls.today - timedelta(days=index)
            )
            subscription.next_invoice_date = cls.today + timedelta(days=20 + index)
            cls.running_subscriptions |= subscription
            cls._create_invoice(cls.customer, 10.0 + index, cls.subscription)
            cls._create_invoice(cls.customer, 20.0 + index)
            cls.env["hosted.database"].create(
                {
                    "name": f"acme-db-{index}",
                    "partner_id": cls.customer.id,
                    "subscription_id": cls.subscription.id,
                }
            )
            cls.env["helpdesk.ticket"].sudo().create(
                {
                    "name": f"Question {index}",
                    "description": "?",
                    "partner_id": cls.customer_contact.id,
                    "subscription_id": cls.subscription.id,
                }
            )
            expert = cls.salesman if index % 2 else cls.env.user
            cls.env["success.pack"].create(
                {
                    "name": f"Pack {index}",
                    "partner_id": cls.customer.id,
                    "expert_id": expert.id,
                    "hours_purchased": 10 + index,
                }
            )

    def _assert_page_queries(self, url, budget_key):
        self._login(self.portal_user)
        self.assertEqual(self._get(url).status_code, 200)  # warm the caches
        with self.assertQueryCount(QUERY_BUDGETS[budget_key]):
            response = self._get(url)
        self.assertEqual(response.status_code, 200)
        return response

    def _count_page_queries(self, url):
        """The response of a warm request to ``url`` and the queries it made."""
        self.assertEqual(self._get(url).status_code, 200)  # warm the caches
        self.env.flush_all()
        # As assertQueryCount does: no random garbage collection in the count.
        with patch("random.random", lambda: 1):
            queries_before = self.cr.sql_log_count
            response = self._get(url)
            queries = self.cr.sql_log_count - queries_before
        self.assertEqual(response.status_code, 200)
        return response, queries

    def test_queries_home(self):
        response = self._assert_page_queries("/my", "/my")
        self.assertContains(response, "o_portal_account_summary")

    def test_queries_home_many_to_renew(self):
        """/my makes as many queries with 5 subscriptions to renew as with 1."""
        self._login(self.portal_user)
        response, queries_one_to_renew = self._count_page_queries("/my")
        self.assertEqual(response.text.count("o_portal_renewal_banner"), 1)
        self.assertNotIn("o_portal_renewal_more", response.text)

        self.running_subscriptions[:4].write(
            {
                "subscription_state": "to_renew",
                "renewal_deadline": self.today + timedelta(days=3),
            }
        )
        response, queries_five_to_renew = self._count_page_queries("/my")
        self.assertEqual(response.text.count("o_portal_renewal_banner"), 3)
        self.assertContains(response, "See all 5 subscriptions to renew")
        self.assertEqual(queries_five_to_renew, queries_one_to_renew)

    def test_queries_subscriptions(self):
        response = self._assert_page_queries("/my/subscriptions", "/my/subscriptions")
        self.assertEqual(response.text.count("o_subscription_state_badge"), 8)

    def test_queries_subscription_page(self):
        response = self._assert_page_queries(
            f"/my/subscriptions/{self.subscription.id}", "subscription"
        )
        self.assertContains(response, "acme-db-5", "Question 5")

    def test_queries_success_packs(self):
        response = self._assert_page_queries("/my/success_packs", "/my/success_packs")
        self.assertEqual(response.text.count("o_success_pack_progress"), 6)
