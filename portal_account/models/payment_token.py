# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models


class PaymentToken(models.Model):
    _inherit = "payment.token"

    expiry_date = fields.Date(
        help="Last day the card can be charged. Leave empty when the payment "
        "method does not expire.",
    )
    is_expired = fields.Boolean(
        string="Expired",
        compute="_compute_is_expired",
        search="_search_is_expired",
    )
    subscription_ids = fields.One2many(
        comodel_name="sale.order",
        inverse_name="payment_token_id",
        string="Subscriptions",
    )

    @api.depends("expiry_date")
    @api.depends_context("date")
    def _compute_is_expired(self):
        today = fields.Date.context_today(self)
        for token in self:
            token.is_expired = bool(token.expiry_date and token.expiry_date < today)

    def _search_is_expired(self, operator, value):
        if operator not in ("=", "!="):
            return NotImplemented
        today = fields.Date.context_today(self)
        expired = [("expiry_date", "!=", False), ("expiry_date", "<", today)]
        if (operator == "=") == bool(value):
            return expired
        return ["|", ("expiry_date", "=", False), ("expiry_date", ">=", today)]

    def write(self, vals):
        archived = self.browse()
        if vals.get("active") is False:
            archived = self.filtered("active")
        res = super().write(vals)
        if archived:
            archived._detach_from_subscriptions()
        return res

    def get_linked_records_info(self):
        """Name the subscriptions this token pays in core's deletion dialog."""
        res = super().get_linked_records_info()
        # Searched with the caller's rights: a customer only learns about the
        # subscriptions they can already read.
        subscriptions = self.env["sale.order"].search(
            [
                ("payment_token_id", "=", self.id),
                ("is_subscription", "=", True),
                ("subscription_state", "in", ("in_progress", "to_renew")),
            ]
        )
        res.extend(
            {
                "description": self.env._("Subscription"),
                "id": subscription.id,
                "name": subscription.name,
                "url": f"/my/subscriptions/{subscription.id}",
            }
            for subscription in subscriptions
        )
        return res

    def _detach_from_subscriptions(self):
        """Leave the subscriptions paid by these tokens without a method."""
        subscriptions = (
            self.env["sale.order"].sudo().search([("payment_token_id", "in", self.ids)])
        )
        for subscription in subscriptions:
            subscription.message_post(
                body=self.env._(
                    "The payment method %(token)s was removed: this subscription has "
                    "no payment method any more.",
                    token=subscription.payment_token_id.display_name,
                )
            )
        subscriptions.payment_token_id = False
