# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from odoo import http
from odoo.tests import tagged

from .test_portal_queries import PortalQueriesCommon

# Measured on Odoo 18.0 CE with the data below (warm caches), plus a small margin:
# 28 for the page and 28 for its review, the same with no other subscription and
# invoice as with 8 of each (the subscription's page: 36 and 36).
CHANGE_PAGE_BUDGET = 30
CHANGE_REVIEW_BUDGET = 30


@tagged("post_install", "-at_install")
class TestPortalLifecycle(PortalQueriesCommon):
    """Closing, undoing and changing a subscription from the portal."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.reason = cls.env["subscription.close.reason"].create(
            {"name": "Moving elsewhere", "sequence": 1}
        )
        cls.inventory = cls.env["product.product"].create(
            {"name": "Inventory App", "type": "service", "list_price": 30.0}
        )
        cls.plan.upsell_product_ids = cls.inventory
        cls.url = f"/my/subscriptions/{cls.subscription.id}"

    def setUp(self):
        super().setUp()
        self._login(self.portal_user)

    def _post_form(self, url, data):
        return self._post(url, {"csrf_token": http.Request.csrf_token(self), **data})

    def _users_line(self, subscription=None):
        return (subscription or self.subscription).order_line.filtered(
            lambda line: line.product_id == self.user_product
        )

    def _upsell_quotes(self, subscription=None):
        return self.env["sale.order"].search(
            [
                ("origin_subscription_id", "=", (subscription or self.subscription).id),
                ("subscription_quote_type", "=", "upsell"),
            ]
        )

    # ------------------------------------------------------------
    # Close and undo
    # ------------------------------------------------------------

    def test_close_then_undo(self):
        page = self._get(self.url)
        self.assertContains(page, "modal_subscription_close", "Moving elsewhere")
        self.assertContains(page, "o_subscription_close_date")
        for _attempt in range(2):
            response = self._post_form(
                f"{self.url}/close",
                {"reason_id": self.reason.id, "comment": "Found cheaper"},
            )
            self.assertRedirect(response, f"{self.url}?message=closing")
        subscription = self.subscription
        self.assertEqual(
            subscription.subscription_end_date, subscription.next_invoice_date
        )
        self.assertEqual(subscription.close_reason_id, self.reason)
        self.assertEqual(subscription.close_comment, "Found cheaper")
        self.assertEqual(subscription.subscription_state, "in_progress")
        self.assertEqual(self.database.access_state, "active")
        self.assertEqual(
            len(self._queued_mails(subscription, "mail_template_subscription_closing")),
            1,
        )
        page = self._get(self.url)
        self.assertContains(page, "o_subscription_closing", "o_subscription_close_undo")
        self.assertNotIn("modal_subscription_close", page.text)

        for _attempt in range(2):
            response = self._post_form(f"{self.url}/close/undo", {})
            self.assertRedirect(response, f"{self.url}?message=close_undone")
        self.assertFalse(subscription.subscription_end_date)
        self.assertFalse(subscription.close_reason_id)
        self.assertContains(self._get(self.url), "modal_subscription_close")

    def test_close_to_renew_closes_now(self):
        url = f"/my/subscriptions/{self.subscription_to_renew.id}"
        response = self._post_form(f"{url}/close", {"reason_id": self.reason.id})
        self.assertRedirect(response, f"{url}?message=closed_now")
        self.assertEqual(self.subscription_to_renew.subscription_state, "closed")
        self.assertEqual(self.subscription_to_renew.close_reason, "customer")
        self.assertContains(self._get(url), "as you asked")

    def test_close_not_user_closable(self):
        self.plan.user_closable = False
        self.assertNotIn("modal_subscription_close", self._get(self.url).text)
        response = self._post_form(f"{self.url}/close", {"reason_id": self.reason.id})
        self.assertRedirect(response, f"{self.url}?message=close_not_allowed")
        self.assertFalse(self.subscription.subscription_end_date)

    def test_close_bad_reasons(self):
        other_company = self.env["res.company"].create({"name": "Other Co"})
        foreign = self.env["subscription.close.reason"].create(
            {"name": "Foreign reason", "company_id": other_company.id}
        )
        archived = self.env["subscription.close.reason"].create(
            {"name": "Old reason", "active": False}
        )
        self.assertNotIn("Foreign reason", self._get(self.url).text)
        for reason_id in (foreign.id, archived.id, "", "abc", "-1", "9" * 5000, None):
            with self.subTest(reason_id=reason_id):
                data = {} if reason_id is None else {"reason_id": reason_id}
                response = self._post_form(f"{self.url}/close", data)
                self.assertRedirect(
                    response, f"{self.url}?message=close_invalid_reason"
                )
        self.assertFalse(self.subscription.subscription_end_date)

    def test_closed_and_paused_refuse_changes(self):
        closed = self._create_subscription(self.customer, start=self.today)
        closed.action_subscription_close()
        paused = self._create_subscription(self.customer, start=self.today)
        paused.next_invoice_date = self.today + timedelta(days=20)
        paused.action_subscription_pause(resume_date=self.today + timedelta(days=9))
        for subscription in (closed, paused):
            url = f"/my/subscriptions/{subscription.id}"
            with self.subTest(state=subscription.subscription_state):
                page = self._get(url)
                self.assertNotIn("modal_subscription_close", page.text)
                self.assertNotIn("o_subscription_change", page.text)
                response = self._post_form(
                    f"{url}/close", {"reason_id": self.reason.id}
                )
                self.assertRedirect(response, f"{url}?message=close_not_allowed")
                self.assertRedirect(
                    self._get(f"{url}/change"), f"{url}?message=change_not_allowed"
                )
                response = self._post_form(
                    f"{url}/change", {f"qty_{self.user_product.id}": 9}
                )
                self.assertRedirect(response, f"{url}?message=change_not_allowed")
        self.assertContains(
            self._get(f"/my/subscriptions/{paused.id}"),
            "o_subscription_paused",
            "o_subscription_resume_date",
        )
        self.assertFalse(self._upsell_quotes(closed) | self._upsell_quotes(paused))

    # ------------------------------------------------------------
    # Change quantities
    # ------------------------------------------------------------

    def test_change_page_lists_lines_and_upsells(self):
        response = self._get(f"{self.url}/change")
        self.assertEqual(response.status_code, 200)
        self.assertContains(
            response,
            f'name="qty_{self.user_product.id}"',
            f'name="qty_{self.app.id}"',
            f'name="qty_{self.inventory.id}"',
            "Inventory App",
        )
        self.assertNotIn("o_subscription_change_summary", response.text)

    def test_change_review_then_quote(self):
        days_left, period_days = self.subscription._subscription_prorate_days()
        review = self._get(
            f"{self.url}/change?qty_{self.user_product.id}=5&qty_{self.inventory.id}=1"
        )
        self.assertContains(review, "o_subscription_change_summary")
        due_now = self.subscription.currency_id.round(
            2 * self.subscription._subscription_prorate(20.0)
            + self.subscription._subscription_prorate(30.0)
        )
        change = self.subscription._subscription_prepare_change(
            {self.user_product: 5, self.inventory: 1}
        )
        self.assertEqual(change["due_now"], due_now)
        self.assertEqual(change["recurring"], 100.0 + 5 * 20.0 + 30.0)
        self.assertEqual(
            (change["days_left"], change["period_days"]), (10, period_days)
        )
        self.assertEqual(days_left, 10)

        data = {f"qty_{self.user_product.id}": "5", f"qty_{self.inventory.id}": "1"}
        first = self._post_form(f"{self.url}/change", data)
        second = self._post_form(f"{self.url}/change", data)
        quote = self._upsell_quotes()
        self.assertEqual(len(quote), 1)
        self.assertRedirect(first, quote.get_portal_url())
        self.assertRedirect(second, quote.get_portal_url())
        self.assertEqual(quote.amount_untaxed, due_now)
        self.assertEqual(quote.state, "sent")
        page = self._get(quote.get_portal_url())
        self.assertContains(page, "o_sale_portal_paynow")

    def test_change_fewer_seats_pending(self):
        response = self._post_form(
            f"{self.url}/change", {f"qty_{self.user_product.id}": "1"}
        )
        self.assertRedirect(response, f"{self.url}?message=change_saved")
        self.assertEqual(self._users_line().subscription_qty_removed, 2)
        self.assertEqual(self._users_line().product_uom_qty, 3)
        self.assertFalse(self._upsell_quotes())
        self.assertContains(self._get(self.url), "o_subscription_pending_qty")
        # Back to 3: nothing pending.
        self._post_form(f"{self.url}/change", {f"qty_{self.user_product.id}": "3"})
        self.assertEqual(self._users_line().subscription_qty_removed, 0)

    def test_change_hostile_quantities(self):
        other_plan = self.env["subscription.plan"].create({"name": "Other plan"})
        other_plan_product = self.env["product.product"].create(
            {"name": "Other plan app", "type": "service", "list_price": 9.0}
        )
        other_plan.upsell_product_ids = other_plan_product
        other_company = self.env["res.company"].create({"name": "Other Co"})
        foreign_product = self.env["product.product"].create(
            {
                "name": "Foreign app",
                "type": "service",
                "list_price": 9.0,
                "company_id": other_company.id,
            }
        )
        users = f"qty_{self.user_product.id}"
        cases = {
            (users, "-1"): "invalid_quantity",
            (users, "abc"): "invalid_quantity",
            (users, "2.5"): "invalid_quantity",
            (users, "1e3"): "invalid_quantity",
            (users, "\u00b2"): "invalid_quantity",
            (users, "<script>"): "invalid_quantity",
            (users, "99999"): "too_many",
            (users, "9" * 5000): "too_many",
            (f"qty_{other_plan_product.id}", "1"): "invalid_product",
            (f"qty_{foreign_product.id}", "1"): "invalid_product",
            ("qty_abc", "1"): "invalid_product",
            ("qty_99999999", "1"): "invalid_product",
        }
        for (key, value), error in cases.items():
            with self.subTest(key=key, value=value[:20]):
                response = self._post_form(f"{self.url}/change", {key: value})
                self.assertRedirect(response, f"{self.url}/change?error={error}")
                review = self._get(f"{self.url}/change?{key}={value[:6000]}")
                self.assertEqual(review.status_code, 200)
                self.assertNotIn("Traceback", review.text)
                self.assertNotIn("o_subscription_change_summary", review.text)
        # Zero everywhere: a subscription keeps one line at least.
        response = self._post_form(
            f"{self.url}/change",
            {users: "0", f"qty_{self.app.id}": "0", f"qty_{self.inventory.id}": "0"},
        )
        self.assertRedirect(response, f"{self.url}/change?error=refused")
        self.assertFalse(self._upsell_quotes())
        self.assertFalse(self._users_line().subscription_qty_removed)

    def test_change_renewal_due_today(self):
        self.subscription.next_invoice_date = self.today
        self.assertRedirect(
            self._get(f"{self.url}/change"), f"{self.url}?message=change_not_allowed"
        )

    def test_confirmed_upsell_applies(self):
        response = self._post_form(
            f"{self.url}/change", {f"qty_{self.user_product.id}": "5"}
        )
        quote = self._upsell_quotes()
        self.assertRedirect(response, quote.get_portal_url())
        quote.action_confirm()
        self.assertEqual(self._users_line().product_uom_qty, 5)
        self.assertEqual(self._users_line().price_unit, 20.0)

    # ------------------------------------------------------------
    # Query budgets, flat in volume
    # ------------------------------------------------------------

    def test_queries_change_pages_flat(self):
        change_url = f"{self.url}/change"
        review_url = f"{change_url}?qty_{self.user_product.id}=5"
        _response, change_few = self._count_page_queries(change_url)
        _response, review_few = self._count_page_queries(review_url)
        _response, page_few = self._count_page_queries(self.url)
        for index in range(8):
            other = self._create_subscription(self.customer, start=self.today)
            other.next_invoice_date = self.today + timedelta(days=index + 3)
            self._create_invoice(self.customer, 5.0 + index, self.subscription)
        with self.assertQueryCount(CHANGE_PAGE_BUDGET):
            self.assertEqual(self._get(change_url).status_code, 200)
        with self.assertQueryCount(CHANGE_REVIEW_BUDGET):
            self.assertEqual(self._get(review_url).status_code, 200)
        _response, change_many = self._count_page_queries(change_url)
        _response, review_many = self._count_page_queries(review_url)
        _response, page_many = self._count_page_queries(self.url)
        self.assertEqual(change_many, change_few)
        self.assertEqual(review_many, review_few)
        self.assertEqual(page_many, page_few)
