# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import http
from odoo.http import request

from odoo.addons.helpdesk_mgmt.controllers.main import HelpdeskTicketController
from odoo.addons.helpdesk_mgmt.controllers.myaccount import CustomerPortalHelpdesk

from .portal_list import PortalListMixin

MAX_ID = 2**31 - 1  # ids are PostgreSQL integers


class CustomerPortalTicket(PortalListMixin, CustomerPortalHelpdesk):
    """The parameters of /my/tickets."""

    @http.route()
    def portal_my_tickets(
        self,
        page=1,
        date_begin=None,
        date_end=None,
        sortby=None,
        search=None,
        search_in=None,
        groupby=None,
        **kw,
    ):
        # OCA looks the sort and group keys up, converts the page and filters
        # on the dates and the search as they come: anything else falls back
        # on the defaults. It already does so for the filter.
        date_begin, date_end = self._portal_dates(date_begin, date_end)
        return super().portal_my_tickets(
            page=self._portal_page(page),
            date_begin=date_begin,
            date_end=date_end,
            sortby=self._portal_key(sortby, self._ticket_get_searchbar_sortings()),
            search=self._portal_text(search),
            search_in=self._portal_key(search_in, self._ticket_get_searchbar_inputs()),
            groupby=self._portal_key(groupby, self._ticket_get_searchbar_groupby()),
            **kw,
        )


class HelpdeskTicketSubscription(HelpdeskTicketController):
    """Open a ticket about one of the customer's subscriptions."""

    @staticmethod
    def _ticket_form_id(value):
        """The positive integer id in the form field ``value``, else 0."""
        try:
            value = int(value or 0)
        except (TypeError, ValueError):
            return 0
        return value if 0 < value <= MAX_ID else 0

    @http.route()
    def support_ticket_close(self, **kw):
        # OCA closes the ticket as superuser without checking that the user may
        # see it, and fails on ids that are not numbers: check both first.
        ticket_id = self._ticket_form_id(kw.get("ticket_id"))
        ticket = request.env["helpdesk.ticket"].browse(ticket_id).exists()
        if not ticket or not ticket.has_access("read"):
            return request.redirect("/my")
        return super().support_ticket_close(
            ticket_id=ticket.id, stage_id=self._ticket_form_id(kw.get("stage_id"))
        )

    def _get_ticket_subscription(self, subscription_id):
        """The subscription ``subscription_id`` if the current user may read it."""
        SaleOrder = request.env["sale.order"]
        try:
            subscription_id = int(subscription_id or 0)
        except (TypeError, ValueError):
            return SaleOrder
        if subscription_id <= 0:
            return SaleOrder
        subscription = SaleOrder.browse(subscription_id).exists()
        if not subscription or not subscription.has_access("read"):
            return SaleOrder
        return subscription if subscription.is_subscription else SaleOrder

    def _get_create_new_ticket_values(self, **kw):
        values = super()._get_create_new_ticket_values(**kw)
        values["subscription"] = self._get_ticket_subscription(
            kw.get("subscription_id")
        )
        return values

    def _prepare_submit_ticket_vals(self, **kw):
        # PostgreSQL refuses NUL characters, and OCA casts the ids as they come:
        # both would be server errors.
        kw = {
            key: value.replace("\x00", "") if isinstance(value, str) else value
            for key, value in kw.items()
        }
        for key in ("category", "team"):
            if key in kw:
                kw[key] = self._ticket_form_id(kw[key]) or ""
        vals = super()._prepare_submit_ticket_vals(**kw)
        # The hidden field is checked again: the form can be tampered with.
        subscription = self._get_ticket_subscription(kw.get("subscription_id"))
        if subscription:
            vals["subscription_id"] = subscription.id
        return vals
