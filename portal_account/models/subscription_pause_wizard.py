# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class SubscriptionPauseWizard(models.TransientModel):
    _name = "subscription.pause.wizard"
    _description = "Pause Subscriptions"

    order_ids = fields.Many2many(
        comodel_name="sale.order",
        string="Subscriptions",
        required=True,
    )
    resume_date = fields.Date(
        help="The subscriptions resume by themselves on that day; leave empty to "
        "resume them by hand.",
    )

    def action_pause(self):
        self.ensure_one()
        self.order_ids.action_subscription_pause(resume_date=self.resume_date)
        return {"type": "ir.actions.act_window_close"}
