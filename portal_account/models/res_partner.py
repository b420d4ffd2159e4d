# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    success_pack_ids = fields.One2many(
        comodel_name="success.pack",
        inverse_name="partner_id",
        string="Success Packs",
    )
    success_expert_id = fields.Many2one(
        comodel_name="res.users",
        string="Success Expert",
        compute="_compute_success_expert_id",
        help="Expert of the customer's active Success Pack.",
    )

    @api.depends(
        "commercial_partner_id.success_pack_ids.expert_id",
        "commercial_partner_id.success_pack_ids.state",
    )
    def _compute_success_expert_id(self):
        packs = (
            self.env["success.pack"]
            .sudo()
            .search(
                [
                    ("partner_id", "in", self.commercial_partner_id.ids),
                    ("state", "=", "active"),
                    ("expert_id", "!=", False),
                ],
                order="id desc",
            )
        )
        expert_by_partner = {}
        for pack in packs:
            expert_by_partner.setdefault(pack.partner_id, pack.expert_id)
        for partner in self:
            partner.success_expert_id = expert_by_partner.get(
                partner.commercial_partner_id, False
            )
