# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class SubscriptionCloseReason(models.Model):
    _name = "subscription.close.reason"
    _description = "Subscription Close Reason"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        comodel_name="res.company",
        help="Leave empty to offer the reason to the customers of every company.",
    )

    def _get_portal_domain(self, company):
        """Reasons a customer of ``company`` may choose from the portal."""
        return [("company_id", "in", [False, company.id])]
