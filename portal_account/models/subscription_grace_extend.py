# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError


class SubscriptionGraceExtend(models.TransientModel):
    _name = "subscription.grace.extend"
    _description = "Extend the Grace Period of Subscriptions"

    subscription_ids = fields.Many2many(
        comodel_name="sale.order",
        string="Subscriptions",
        required=True,
        domain=[("subscription_state", "=", "to_renew")],
    )
    days = fields.Integer(required=True, default=7)
    reason = fields.Text(required=True)

    @api.constrains("days")
    def _check_days(self):
        for wizard in self:
            if wizard.days < 1:
                raise ValidationError(
                    self.env._("The grace period is extended by one day at least.")
                )

    def action_extend(self):
        """Move the deadline of each subscription on by ``days``, logged with
        the reason."""
        self.ensure_one()
        subscriptions = self.subscription_ids
        not_waiting = subscriptions.filtered(
            lambda o: o.subscription_state != "to_renew" or not o.renewal_deadline
        )
        if not_waiting:
            raise UserError(
                self.env._(
                    "Only subscriptions in their grace period can have it extended: "
                    "%s.",
                    ", ".join(not_waiting.mapped("name")),
                )
            )
        for deadline, orders in subscriptions.grouped("renewal_deadline").items():
            orders.renewal_deadline = deadline + timedelta(days=self.days)
        for order in subscriptions:
            order.message_post(
                body=self.env._(
                    "Grace period extended by %(days)s day(s), to %(deadline)s, by "
                    "%(user)s: %(reason)s",
                    days=self.days,
                    deadline=fields.Date.to_string(order.renewal_deadline),
                    user=self.env.user.name,
                    reason=self.reason,
                )
            )
        return {"type": "ir.actions.act_window_close"}
