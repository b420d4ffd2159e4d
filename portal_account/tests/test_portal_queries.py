# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import re
from datetime import timedelta
from unittest.mock import patch

from odoo import Command
from odoo.tests import new_test_user, tagged
from odoo.tools import SQL

from odoo.addons.portal_account.controllers.account import PortalAccount

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
# /my/invoices as a customer first opens it: posting does not give an invoice its
# access token, the list's links do. Measured: 34 with 10 invoices and with 1,000
# (a page of 80 rows).
INVOICES_FIRST_VISIT_BUDGET = 37
ACCESS_TOKEN_RE = re.compile(r"access_token=[0-9a-f-]{36}")
SETUP_CONTEXT = {"tracking_disable": True, "mail_create_nolog": True}


class PortalQueriesCommon(PortalAccountHttpCommon):
    """Counting the queries of a portal page."""

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


@tagged("post_install", "-at_install")
class TestPortalQueries(PortalQueriesCommon):
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


@tagged("post_install", "-at_install")
class TestPortalInvoicesQueries(PortalQueriesCommon):
    """/my/invoices makes as many queries whatever the customer's volume."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.few_invoices_user = cls._create_invoiced_customer("Few", 10)
        cls.many_invoices_user = cls._create_invoiced_customer("Many", 1000)

    @classmethod
    def _create_invoiced_customer(cls, name, count):
        """A portal user whose company has ``count`` posted, unpaid invoices."""
        company = cls.env["res.partner"].create({"name": name, "is_company": True})
        contact = cls.env["res.partner"].create(
            {"name": f"{name} Contact", "parent_id": company.id}
        )
        user = new_test_user(
            cls.env,
            login=f"prt_{name.lower()}",
            groups="base.group_portal",
            partner_id=contact.id,
            company_id=cls.company.id,
        )
        invoices = (
            cls.env["account.move"]
            .with_context(**SETUP_CONTEXT)
            .create(
                [
                    {
                        "move_type": "out_invoice",
                        "partner_id": company.id,
                        "invoice_date": cls.today - timedelta(days=index % 300),
                        "invoice_line_ids": [
                            Command.create(
                                {
                                    "name": "Service",
                                    "price_unit": 10.0 + index % 7,
                                    "tax_ids": [Command.clear()],
                                }
                            )
                        ],
                    }
                    for index in range(count)
                ]
            )
        )
        invoices.action_post()
        return user

    def _invoices(self, user):
        return self.env["account.move"].search(
            [
                ("move_type", "=", "out_invoice"),
                ("partner_id", "child_of", user.partner_id.commercial_partner_id.id),
            ]
        )

    def _create_transaction(self, invoice, state):
        if state == "authorized":
            # The tests' provider takes no manual capture; core refuses an
            # authorized transaction for a provider that does not.
            self.provider.capture_manually = True
            Provider = type(self.env["payment.provider"])
            support = Provider._compute_feature_support_fields

            def with_manual_capture(providers):
                support(providers)
                providers.support_manual_capture = "full_only"

            with patch.object(
                Provider, "_compute_feature_support_fields", with_manual_capture
            ):
                self.provider.invalidate_recordset(["support_manual_capture"])
                return self._create_transaction_record(invoice, state)
        return self._create_transaction_record(invoice, state)

    def _create_transaction_record(self, invoice, state):
        return self.env["payment.transaction"].create(
            {
                "provider_id": self.provider.id,
                "payment_method_id": self.provider.payment_method_ids[:1].id
                or self.env.ref("payment.payment_method_unknown").id,
                "amount": invoice.amount_residual,
                "currency_id": invoice.currency_id.id,
                "partner_id": invoice.partner_id.id,
                "invoice_ids": [Command.set(invoice.ids)],
                "state": state,
            }
        )

    def _remove_access_tokens(self, invoices):
        """As after posting: an invoice gets its token when first linked to."""
        invoices.filtered("access_token").access_token = False
        self.env.flush_all()

    def _table_rows(self, response):
        """The list's rows, their access tokens blanked (each visit makes new ones).

        Sorted: core orders by invoice date alone, so invoices of the same day
        may come in another order at each request.
        """
        self.assertEqual(response.status_code, 200)
        table = response.text.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
        table = ACCESS_TOKEN_RE.sub("access_token=TOKEN", table)
        return sorted(row.strip() for row in table.split("</tr>"))

    def _assert_first_visit_queries(self, user, rows):
        self._login(user)
        self.assertEqual(self._get("/my/invoices").status_code, 200)  # warm the caches
        invoices = self._invoices(user)
        self._remove_access_tokens(invoices)
        with self.assertQueryCount(INVOICES_FIRST_VISIT_BUDGET):
            response = self._get("/my/invoices")
        self.assertEqual(response.status_code, 200)
        self.env.invalidate_all()
        listed = invoices.filtered("access_token")
        self.assertEqual(len(listed), rows)
        for invoice in listed:
            self.assertIn(f"access_token={invoice.access_token}", response.text)

    def test_queries_invoices_first_visit_few(self):
        self._assert_first_visit_queries(self.few_invoices_user, 10)

    def test_queries_invoices_first_visit_many(self):
        self._assert_first_visit_queries(self.many_invoices_user, 80)

    def test_queries_invoices_transactions(self):
        """As many queries with a transaction on every row as on one row."""
        self._login(self.few_invoices_user)
        invoices = self._invoices(self.few_invoices_user)
        self._create_transaction(invoices[0], "error")
        _response, queries_one_transaction = self._count_page_queries("/my/invoices")
        for invoice in invoices[1:]:
            self._create_transaction(invoice, "error")
        _response, queries_all_transactions = self._count_page_queries("/my/invoices")
        self.assertEqual(queries_all_transactions, queries_one_transaction)

    def test_invoices_rows_as_core_shows_them(self):
        """The rows show what core's own per-row path shows."""
        pending, authorized, retried, drafted = (
            self._create_invoice(self.customer, amount) for amount in (11, 12, 13, 14)
        )
        # Core shows no Pending badge for the providers without a module
        # (codes none and custom), which the tests' provider is: the rows are
        # made as a real provider's would be.
        pending_provider = self.provider.copy({"name": "Pending Provider"})
        self.env.cr.execute(
            SQL(
                "UPDATE payment_provider SET code = 'stripe' WHERE id = %s",
                pending_provider.id,
            )
        )
        pending_provider.invalidate_recordset(["code"])
        self.provider, tests_provider = pending_provider, self.provider
        self._create_transaction(pending, "pending")
        self.provider = tests_provider
        self._create_transaction(authorized, "authorized")
        self._create_transaction(retried, "pending")
        self._create_transaction(retried, "error")
        self._create_transaction(drafted, "pending")
        self._create_transaction(drafted, "draft")
        invoices = self._invoices(self.portal_user)
        self._login(self.portal_user)
        self.assertEqual(self._get("/my/invoices").status_code, 200)  # warm the caches

        self._remove_access_tokens(invoices)
        with patch.object(
            PortalAccount, "_prepare_invoices_list_rows", lambda self, rows: None
        ):
            core_rows = self._table_rows(self._get("/my/invoices"))
        self.env.invalidate_all()
        self.assertTrue(all(invoices.mapped("access_token")))
        core_text = "".join(core_rows)
        self.assertEqual(core_text.count(" Pending</span>"), 1)
        self.assertEqual(core_text.count(" Authorized</span>"), 1)

        self._remove_access_tokens(invoices)
        response = self._get("/my/invoices")
        self.assertEqual(self._table_rows(response), core_rows)
        self.env.invalidate_all()
        for invoice in invoices:
            self.assertIn(f"access_token={invoice.access_token}", response.text)
