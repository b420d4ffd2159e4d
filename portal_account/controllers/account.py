# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import csv
import io

from odoo import http
from odoo.http import content_disposition, request
from odoo.osv import expression

from odoo.addons.account_payment.controllers import portal as account_payment_portal

from .portal_list import PortalListMixin


class PortalAccount(PortalListMixin, account_payment_portal.PortalAccount):
    """Search and CSV export of /my/invoices."""

    def _get_account_searchbar_inputs(self):
        return {
            "all": {"input": "all", "label": request.env._("Search in All")},
            "name": {"input": "name", "label": request.env._("Search in Reference")},
            "subscription": {
                "input": "subscription",
                "label": request.env._("Search in Subscription"),
            },
        }

    def _get_account_search_domain(self, search_in, search):
        if not search:
            return []
        domains = []
        if search_in in ("name", "all"):
            domains.append(["|", ("name", "ilike", search), ("ref", "ilike", search)])
        if search_in in ("subscription", "all"):
            domains.append([("subscription_id.name", "ilike", search)])
        return expression.OR(domains)

    def _prepare_my_invoices_values(
        self,
        page,
        date_begin,
        date_end,
        sortby,
        filterby,
        domain=None,
        url="/my/invoices",
        search=None,
        search_in=None,
    ):
        if search is None and search_in is None:
            # Core's /my/invoices route does not forward its other parameters.
            search = request.params.get("search")
            search_in = request.params.get("search_in")
        searchbar_inputs = self._get_account_searchbar_inputs()
        search_in = self._portal_key(search_in, searchbar_inputs, "all")
        search = self._portal_text(search)
        # Core looks the keys up, converts the page and filters on the dates as
        # they come: anything else falls back on the defaults.
        page = self._portal_page(page)
        date_begin, date_end = self._portal_dates(date_begin, date_end)
        sortby = self._portal_key(sortby, self._get_account_searchbar_sortings())
        filterby = self._portal_key(filterby, self._get_account_searchbar_filters())
        search_domain = self._get_account_search_domain(search_in, search)
        if search_domain:
            domain = expression.AND([domain or [], search_domain])
        values = super()._prepare_my_invoices_values(
            page, date_begin, date_end, sortby, filterby, domain=domain, url=url
        )
        if search:
            values["pager"]["url_args"].update(search=search, search_in=search_in)
        values.update(
            {
                "searchbar_inputs": searchbar_inputs,
                "search_in": search_in,
                "search": search or "",
            }
        )
        return values

    @http.route()
    def portal_my_invoices(
        self, page=1, date_begin=None, date_end=None, sortby=None, filterby=None, **kw
    ):
        response = super().portal_my_invoices(
            page=page,
            date_begin=date_begin,
            date_end=date_end,
            sortby=sortby,
            filterby=filterby,
            **kw,
        )
        # The page is rendered once this returns: what its rows need is ready then.
        invoices_data = getattr(response, "qcontext", {}).get("invoices")
        if invoices_data:
            self._prepare_invoices_list_rows(invoices_data)
        return response

    def _prepare_invoices_list_rows(self, invoices_data):
        """Prepare at once for all the listed invoices what each row asks for.

        Core's list makes it per row: a link with the invoice's access token,
        created when missing by a full write of the invoice, and its last
        transaction, searched apart.
        """
        invoices = request.env["account.move"].concat(
            *(data["invoice"] for data in invoices_data)
        )
        # Written as superuser, as core writes them; the invoices were searched
        # with the customer's rights.
        invoices_sudo = invoices.filtered(lambda move: not move.access_token).sudo()
        # A token changes neither the balance nor the lines that these checks keep
        # in sync: without them, the tokens cost one UPDATE instead of three
        # queries per invoice.
        for invoice_sudo in invoices_sudo.with_context(
            check_move_validity=False, skip_invoice_sync=True
        ):
            invoice_sudo._portal_ensure_token()

        # As get_portal_last_transaction(): the first one, in the model's order,
        # that is not a draft; one search for all the invoices.
        transactions_sudo = (
            invoices.with_context(active_test=False)
            .transaction_ids.sudo()
            .filtered(lambda transaction: transaction.state != "draft")
            .sorted()
        )
        last_transactions = {}
        for transaction_sudo in transactions_sudo:
            for invoice in transaction_sudo.invoice_ids:
                last_transactions.setdefault(invoice.id, transaction_sudo)
        for data in invoices_data:
            data["last_transaction_sudo"] = last_transactions.get(
                data["invoice"].id, transactions_sudo.browse()
            )

    def _get_invoice_export_header(self):
        return [
            request.env._("Number"),
            request.env._("Invoice Date"),
            request.env._("Due Date"),
            request.env._("Subscription"),
            request.env._("Currency"),
            request.env._("Total"),
            request.env._("Amount Due"),
            request.env._("Payment Status"),
        ]

    def _get_invoice_export_rows(self, invoices):
        payment_states = dict(
            invoices._fields["payment_state"]._description_selection(request.env)
        )
        readable_subscriptions = invoices.subscription_id._filtered_access("read")
        for invoice in invoices:
            sign = -1 if invoice.move_type == "out_refund" else 1
            subscription = invoice.subscription_id & readable_subscriptions
            yield [
                invoice.name,
                invoice.invoice_date or "",
                invoice.invoice_date_due or "",
                subscription.name or "",
                invoice.currency_id.name,
                sign * invoice.amount_total,
                sign * invoice.amount_residual,
                payment_states.get(invoice.payment_state, ""),
            ]

    @staticmethod
    def _csv_safe(value):
        # Spreadsheets run cells starting with these characters as formulas.
        if isinstance(value, str) and value.startswith(
            ("=", "+", "-", "@", "\t", "\r")
        ):
            return f"'{value}"
        return value

    @http.route(
        "/my/invoices/export",
        type="http",
        auth="user",
        methods=["GET"],
        website=True,
    )
    def portal_my_invoices_export(
        self,
        date_begin=None,
        date_end=None,
        sortby=None,
        filterby=None,
        search="",
        search_in="all",
        **kw,
    ):
        """The invoices listed by /my/invoices for the same parameters, all pages."""
        values = self._prepare_my_invoices_values(
            1,
            date_begin,
            date_end,
            sortby,
            filterby,
            search=search or "",
            search_in=search_in or "all",
        )
        pager = values["pager"]
        invoices = request.env["account.move"].concat(
            *(
                data["invoice"]
                for offset in range(0, pager["total"], pager["step"])
                for data in values["invoices"](offset)
            )
        )

        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(self._get_invoice_export_header())
        for row in self._get_invoice_export_rows(invoices):
            writer.writerow([self._csv_safe(value) for value in row])
        content = buffer.getvalue().encode("utf-8-sig")
        return request.make_response(
            content,
            headers=[
                ("Content-Type", "text/csv; charset=utf-8"),
                ("Content-Length", len(content)),
                ("Content-Disposition", content_disposition("invoices.csv")),
            ],
        )
