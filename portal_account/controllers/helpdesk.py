# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.http import request

from odoo.addons.helpdesk_mgmt.controllers.main import HelpdeskTicketController


class HelpdeskTicketSubscription(HelpdeskTicketController):
    """Open a ticket about one of the customer's subscriptions."""

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
        vals = super()._prepare_submit_ticket_vals(**kw)
        # The hidden field is checked again: the form can be tampered with.
        subscription = self._get_ticket_subscription(kw.get("subscription_id"))
        if subscription:
            vals["subscription_id"] = subscription.id
        return vals
