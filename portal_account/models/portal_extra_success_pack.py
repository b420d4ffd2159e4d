# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class SuccessPack(models.Model):
    _inherit = "success.pack"

    # Customers cannot read internal users: the portal shows the expert's
    # picture through the pack they can read (/web/image/success.pack/...).
    expert_avatar_128 = fields.Image(
        string="Expert Avatar", related="expert_id.avatar_128"
    )
