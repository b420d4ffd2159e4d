# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models


class HelpdeskTicket(models.Model):
    _inherit = "helpdesk.ticket"

    subscription_id = fields.Many2one(
        comodel_name="sale.order",
        string="Subscription",
        index="btree_not_null",
        domain="[('is_subscription', '=', True)]",
        tracking=True,
    )
    hosted_database_id = fields.Many2one(
        comodel_name="hosted.database",
        string="Database",
        index="btree_not_null",
        domain="[('subscription_id', '=?', subscription_id)]",
        tracking=True,
    )

    @api.onchange("hosted_database_id")
    def _onchange_hosted_database_id(self):
        if self.hosted_database_id.subscription_id and not self.subscription_id:
            self.subscription_id = self.hosted_database_id.subscription_id

    @api.model_create_multi
    def create(self, vals_list):
        partners = self.env["res.partner"].browse(
            {vals["partner_id"] for vals in vals_list if vals.get("partner_id")}
        )
        # The expert is read as superuser: a customer creating a ticket from the
        # portal cannot read the pack nor the internal user behind it.
        experts = {p.id: p.sudo().success_expert_id for p in partners}
        for vals in vals_list:
            expert = experts.get(vals.get("partner_id"))
            if expert and not vals.get("user_id"):
                vals["user_id"] = expert.id
        return super().create(vals_list)
