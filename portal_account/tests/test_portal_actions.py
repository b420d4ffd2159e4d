# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import csv
import io
from datetime import timedelta

from odoo.tests import tagged
from odoo.tools import mute_logger

from .common_portal import PortalAccountHttpCommon


@tagged("post_install", "-at_install")
class TestPortalActions(PortalAccountHttpCommon):
    """What the customer changes from the portal, and what is refused."""

    # ------------------------------------------------------------
    # Ask changes on a quotation
    # ------------------------------------------------------------

    def _ask_changes(self, order, message, with_csrf=True):
        data = {"message": message}
        if with_csrf:
            data["csrf_token"] = self._csrf_token(order.get_portal_url())
        return self._post(f"/my/orders/{order.id}/ask_changes", data)

    def _customer_messages(self, order):
        return order.message_ids.filtered(lambda m: m.message_type == "comment")

    def test_ask_changes(self):
        self._login(self.portal_user)
        response = self._get(self.quotation.get_portal_url())
        self.assertContains(response, 'id="modal_ask_changes"', "Ask changes")
        self.assertContains(response, f"/my/orders/{self.quotation.id}/ask_changes")

        response = self._ask_changes(self.quotation, "Please add <b>two</b> users")
        self.assertRedirect(
            response,
            f"/my/orders/{self.quotation.id}?access_token={self.quotation.access_token}"
            "&message=ask_changes_ok",
        )
        self.assertTrue(self.quotation.changes_requested)
        message = self._customer_messages(self.quotation)[:1]
        self.assertIn("Please add &lt;b&gt;two&lt;/b&gt; users", message.body)
        self.assertEqual(message.author_id, self.customer_contact)
        self.assertTrue(self.quotation.activity_ids)

        response = self.url_open(self.quotation.get_portal_url())
        self.assertContains(response, "Changes requested")
        self.assertNotLeaking(response, self.other_quotation.name)

    def test_ask_changes_empty_message(self):
        self._login(self.portal_user)
        messages = self._customer_messages(self.quotation)
        response = self._ask_changes(self.quotation, "   ")
        self.assertRedirect(
            response,
            f"/my/orders/{self.quotation.id}?access_token={self.quotation.access_token}"
            "&message=ask_changes_empty",
        )
        self.assertFalse(self.quotation.changes_requested)
        self.assertEqual(self._customer_messages(self.quotation), messages)
        self.assertFalse(self.quotation.activity_ids)
        response = self.url_open(response.headers["Location"])
        self.assertContains(response, "Please describe the changes you need.")

    @mute_logger("odoo.http")
    def test_ask_changes_csrf(self):
        self._login(self.portal_user)
        response = self._ask_changes(self.quotation, "No token", with_csrf=False)
        self.assertIn(response.status_code, (400, 403))
        self.assertFalse(self.quotation.changes_requested)

    def test_ask_changes_not_a_quotation(self):
        self._login(self.portal_user)
        csrf = self._csrf_token("/my/account")
        response = self._post(
            f"/my/orders/{self.subscription.id}/ask_changes",
            {"csrf_token": csrf, "message": "Too late"},
        )
        self.assertIn("message=cant_ask_changes", response.headers["Location"])
        self.assertFalse(self.subscription.changes_requested)

    # ------------------------------------------------------------
    # Change the payment method of a subscription
    # ------------------------------------------------------------

    def _set_token(self, subscription, token_id, with_csrf=True):
        url = f"/my/subscriptions/{subscription.id}/payment_method"
        data = {"token_id": token_id}
        if with_csrf:
            data["csrf_token"] = self._csrf_token(url)
        return self._post(url, data)

    @mute_logger("odoo.http")
    def test_payment_method_csrf(self):
        new_token = self._create_token(self.customer, payment_details="5555")
        self._login(self.portal_user)
        response = self._set_token(self.subscription, new_token.id, with_csrf=False)
        self.assertIn(response.status_code, (400, 403))
        self.assertEqual(self.subscription.payment_token_id, self.token)

    def test_payment_method_refuses_foreign_and_invalid_tokens(self):
        expired = self._create_token(
            self.customer,
            expiry_date=self.today - timedelta(days=1),
            payment_details="1111",
        )
        archived = self._create_token(self.customer, payment_details="2222")
        archived.active = False
        self._login(self.portal_user)
        url = f"/my/subscriptions/{self.subscription.id}/payment_method"
        for token_id in (
            self.other_token.id,
            expired.id,
            archived.id,
            "abc",
            "",
            999999,
        ):
            response = self._set_token(self.subscription, token_id)
            self.assertRedirect(response, f"{url}?error=invalid_token", token_id)
            self.assertEqual(self.subscription.payment_token_id, self.token)
        response = self.url_open(f"{url}?error=invalid_token")
        self.assertContains(response, "cannot be used for this subscription")

    def test_payment_method_other_customer(self):
        self._login(self.other_portal_user)
        csrf = self._csrf_token("/my/account")
        response = self._post(
            f"/my/subscriptions/{self.subscription.id}/payment_method",
            {"csrf_token": csrf, "token_id": self.other_token.id},
        )
        self.assertRedirect(response, "/my")
        self.assertEqual(self.subscription.payment_token_id, self.token)

    def test_payment_method_update_running_subscription(self):
        new_token = self._create_token(self.customer, payment_details="5555")
        self._login(self.portal_user)
        response = self._set_token(self.subscription, new_token.id)
        self.assertRedirect(
            response,
            f"/my/subscriptions/{self.subscription.id}?message=payment_method_updated",
        )
        self.assertEqual(self.subscription.payment_token_id, new_token)
        self.assertEqual(self.subscription.subscription_state, "in_progress")

    def test_payment_method_charges_subscription_to_renew(self):
        self._login(self.portal_user)
        response = self._set_token(self.subscription_to_renew, self.token.id)
        self.assertRedirect(
            response,
            f"/my/subscriptions/{self.subscription_to_renew.id}"
            "?message=payment_method_charged",
        )
        self.assertEqual(self.subscription_to_renew.payment_token_id, self.token)
        self.assertEqual(self.subscription_to_renew.subscription_state, "in_progress")
        invoice = self.subscription_to_renew.subscription_invoice_ids
        self.assertEqual(len(invoice), 1)
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))
        response = self.url_open(response.headers["Location"])
        self.assertContains(response, "the renewal was paid", "In Progress")

    def test_payment_method_failing_card(self):
        failing = self._create_token(
            self.customer, state="error", payment_details="6666"
        )
        self._login(self.portal_user)
        response = self._set_token(self.subscription_to_renew, failing.id)
        self.assertRedirect(
            response,
            f"/my/subscriptions/{self.subscription_to_renew.id}"
            "?message=payment_method_not_charged",
        )
        self.assertEqual(self.subscription_to_renew.subscription_state, "to_renew")

    def test_payment_method_closed_subscription(self):
        self.subscription_to_renew._subscription_close("unpaid")
        self._login(self.portal_user)
        response = self._get(
            f"/my/subscriptions/{self.subscription_to_renew.id}/payment_method"
        )
        self.assertRedirect(
            response,
            f"/my/subscriptions/{self.subscription_to_renew.id}?message=subscription_closed",
        )

    def test_archived_token_leaves_subscription_without_method(self):
        self._login(self.portal_user)
        linked = self.make_jsonrpc_request(
            "/web/dataset/call_kw/payment.token/get_linked_records_info",
            {
                "model": "payment.token",
                "method": "get_linked_records_info",
                "args": [self.token.id],
                "kwargs": {},
            },
        )
        self.assertIn(self.subscription.name, [info["name"] for info in linked])
        self.assertIn(
            f"/my/subscriptions/{self.subscription.id}",
            [info["url"] for info in linked],
        )
        self.make_jsonrpc_request("/payment/archive_token", {"token_id": self.token.id})
        self.assertFalse(self.token.active)
        self.assertFalse(self.subscription.payment_token_id)
        response = self._get(f"/my/subscriptions/{self.subscription.id}")
        self.assertContains(response, "No payment method")

    # ------------------------------------------------------------
    # Invoices: badge, search, subscription, CSV export
    # ------------------------------------------------------------

    def _export(self, query=""):
        response = self._get(f"/my/invoices/export{query}")
        self.assertEqual(response.status_code, 200)
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        return rows[0], rows[1:]

    def test_invoice_list(self):
        self._login(self.portal_user)
        response = self._get("/my/invoices")
        self.assertContains(
            response,
            "o_invoice_paid_badge",
            "o_invoice_not_paid_badge",
            "Export CSV",
            'name="search"',
        )
        self.assertNotLeaking(response, self.other_invoice.name)
        response = self._get(
            f"/my/invoices?search={self.invoice_paid.name}&search_in=name"
        )
        self.assertContains(response, self.invoice_paid.name, "search_in=name")
        self.assertNotLeaking(response, self.invoice_unpaid.name)
        response = self._get(
            f"/my/invoices?search={self.subscription.name}&search_in=subscription"
        )
        self.assertContains(response, self.invoice_unpaid.name)
        self.assertNotLeaking(response, self.invoice_paid.name)
        # Unknown keys fall back to the defaults.
        response = self._get("/my/invoices?sortby=nope&filterby=nope&search_in=nope")
        self.assertEqual(response.status_code, 200)

    def test_invoice_page_subscription(self):
        self._login(self.portal_user)
        response = self._get(f"/my/invoices/{self.invoice_unpaid.id}")
        self.assertContains(
            response, "o_portal_invoice_subscription", self.subscription.name
        )

    def test_invoices_export(self):
        self._login(self.portal_user)
        header, rows = self._export()
        self.assertEqual(header[0], "Number")
        self.assertEqual(
            sorted(row[0] for row in rows),
            sorted([self.invoice_unpaid.name, self.invoice_paid.name]),
        )
        by_name = {row[0]: row for row in rows}
        self.assertEqual(by_name[self.invoice_unpaid.name][3], self.subscription.name)
        self.assertEqual(float(by_name[self.invoice_unpaid.name][6]), 123.45)
        self.assertEqual(float(by_name[self.invoice_paid.name][6]), 0.0)

        _header, rows = self._export(f"?search={self.invoice_paid.name}&search_in=name")
        self.assertEqual([row[0] for row in rows], [self.invoice_paid.name])
        _header, rows = self._export(
            f"?search={self.subscription.name}&search_in=subscription"
        )
        self.assertEqual([row[0] for row in rows], [self.invoice_unpaid.name])
        _header, rows = self._export("?filterby=bills")
        self.assertEqual(rows, [])
        _header, rows = self._export("?sortby=name")
        self.assertEqual(
            [row[0] for row in rows],
            sorted([self.invoice_unpaid.name, self.invoice_paid.name], reverse=True),
        )
        _header, rows = self._export("?sortby=nope&filterby=nope")
        self.assertEqual(len(rows), 2)

    def test_invoices_export_neutralizes_formulas(self):
        self.invoice_paid.ref = "=HYPERLINK()"
        self.subscription.name = "=cmd|' /C calc'!A0"
        self._login(self.portal_user)
        _header, rows = self._export()
        subscription_cells = [row[3] for row in rows if row[3]]
        self.assertEqual(subscription_cells, ["'=cmd|' /C calc'!A0"])

    # ------------------------------------------------------------
    # Tickets about a subscription
    # ------------------------------------------------------------

    def _submit_ticket(self, subscription_id):
        csrf = self._csrf_token("/new/ticket")
        return self._post(
            "/submitted/ticket",
            {
                "csrf_token": csrf,
                "subject": f"Ticket about {subscription_id}",
                "description": "It does not work",
                "subscription_id": subscription_id,
            },
        )

    def test_submit_ticket_with_subscription(self):
        self._login(self.portal_user)
        response = self._submit_ticket(self.subscription.id)
        self.assertIn(response.status_code, (302, 303))
        ticket = (
            self.env["helpdesk.ticket"]
            .sudo()
            .search([("name", "=", f"Ticket about {self.subscription.id}")])
        )
        self.assertEqual(ticket.subscription_id, self.subscription)
        self.assertEqual(ticket.partner_id, self.customer_contact)
        response = self.url_open(f"/my/subscriptions/{self.subscription.id}")
        self.assertContains(response, ticket.number)

    def test_submit_ticket_with_foreign_subscription(self):
        self._login(self.portal_user)
        self._submit_ticket(self.other_subscription.id)
        ticket = (
            self.env["helpdesk.ticket"]
            .sudo()
            .search([("name", "=", f"Ticket about {self.other_subscription.id}")])
        )
        self.assertTrue(ticket)
        self.assertFalse(ticket.subscription_id)
