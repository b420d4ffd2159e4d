# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import http
from odoo.exceptions import AccessError, MissingError
from odoo.http import request
from odoo.tools import SQL

from .subscription import SubscriptionPortal


class CustomerPortal(SubscriptionPortal):
    """/my home, the quotation and order lists, and quote change requests."""

    _summary_to_renew_limit = 3

    # ------------------------------------------------------------
    # My Home
    # ------------------------------------------------------------

    @http.route()
    def home(self, **kw):
        response = super().home(**kw)
        response.qcontext.update(self._prepare_account_summary_values())
        return response

    def _get_account_summary_due_domain(self, partner):
        return [
            ("move_type", "in", ("out_invoice", "out_receipt")),
            ("state", "=", "posted"),
            ("payment_state", "in", ("not_paid", "partial")),
            ("commercial_partner_id", "=", partner.commercial_partner_id.id),
        ]

    def _get_account_summary_running_domain(self, partner):
        return self._prepare_subscriptions_domain(partner) + [
            ("subscription_state", "in", ("in_progress", "to_renew")),
        ]

    def _prepare_account_summary_values(self):
        """Amount due, next renewal and subscriptions waiting for a payment method."""
        partner = request.env.user.partner_id
        values = {
            "summary_amounts_due": [],
            "summary_next_renewal": request.env["sale.order"],
            "summary_to_renew": request.env["sale.order"],
            "summary_to_renew_count": 0,
        }
        AccountMove = request.env["account.move"]
        if AccountMove.has_access("read"):
            values["summary_amounts_due"] = [
                (currency, amount)
                for currency, amount in AccountMove._read_group(
                    self._get_account_summary_due_domain(partner),
                    groupby=["currency_id"],
                    aggregates=["amount_residual:sum"],
                )
                if not currency.is_zero(amount)
            ]
        SaleOrder = request.env["sale.order"]
        if SaleOrder.has_access("read"):
            running_domain = self._get_account_summary_running_domain(partner)
            # Read as superuser for the rendering only: the searches applied the
            # customer's own rights. They read a bounded number of records and
            # always run, so the page costs the same whatever the volume.
            summary_fields = [
                "name",
                "subscription_state",
                "next_invoice_date",
                "renewal_deadline",
                "amount_total",
                "currency_id",
            ]
            values["summary_next_renewal"] = SaleOrder.search_fetch(
                running_domain
                + [
                    ("subscription_state", "=", "in_progress"),
                    ("next_invoice_date", "!=", False),
                ],
                summary_fields,
                order="next_invoice_date asc, id asc",
                limit=1,
            ).sudo()
            to_renew_query = SaleOrder._search(
                running_domain + [("subscription_state", "=", "to_renew")],
                order="renewal_deadline asc, id asc",
                limit=self._summary_to_renew_limit,
            )
            # The first subscriptions to renew and their number in one query: the
            # window counts the rows the domain and the record rules keep before
            # the limit, where a search_count would check the followers again.
            rows = request.env.execute_query(
                to_renew_query.select(
                    SQL.identifier(to_renew_query.table, "id"), SQL("COUNT(*) OVER ()")
                )
            )
            to_renew_sudo = SaleOrder.browse([row[0] for row in rows]).sudo()
            to_renew_sudo.fetch(summary_fields)
            values["summary_to_renew"] = to_renew_sudo
            values["summary_to_renew_count"] = rows[0][1] if rows else 0
        return values

    # ------------------------------------------------------------
    # Quotations and orders: list parameters
    # ------------------------------------------------------------

    def _prepare_sale_portal_rendering_values(
        self, page=1, date_begin=None, date_end=None, sortby=None, **kwargs
    ):
        # Core looks the sort key up, and filters on the dates as they come:
        # anything else falls back on the defaults.
        date_begin, date_end = self._portal_dates(date_begin, date_end)
        return super()._prepare_sale_portal_rendering_values(
            page=self._portal_page(page),
            date_begin=date_begin,
            date_end=date_end,
            sortby=self._portal_key(sortby, self._get_sale_searchbar_sortings()),
            **kwargs,
        )

    @http.route()
    def portal_my_quotes(self, **kwargs):
        # Core tells the list which one it is: the same parameter in the URL
        # would be given twice, a server error.
        kwargs.pop("quotation_page", None)
        return super().portal_my_quotes(**kwargs)

    @http.route()
    def portal_my_orders(self, **kwargs):
        kwargs.pop("quotation_page", None)
        return super().portal_my_orders(**kwargs)

    # ------------------------------------------------------------
    # Quotations: ask for changes
    # ------------------------------------------------------------

    @http.route(
        "/my/orders/<int:order_id>/ask_changes",
        type="http",
        auth="public",
        methods=["POST"],
        website=True,
    )
    def portal_quote_ask_changes(self, order_id, access_token=None, message=None, **kw):
        try:
            order_sudo = self._document_check_access(
                "sale.order", order_id, access_token=access_token
            )
        except (AccessError, MissingError):
            return request.redirect("/my")

        if order_sudo.state not in ("draft", "sent"):
            query_string = "&message=cant_ask_changes"
        elif not (message or "").strip():
            query_string = "&message=ask_changes_empty"
        else:
            author = (
                order_sudo.partner_id
                if request.env.user._is_public()
                else request.env.user.partner_id
            )
            order_sudo._action_ask_changes(message.strip(), author=author)
            query_string = "&message=ask_changes_ok"
        return request.redirect(order_sudo.get_portal_url(query_string=query_string))
