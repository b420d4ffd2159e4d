# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import ValidationError


class ProductTemplate(models.Model):
    _inherit = "product.template"

    success_pack_hours = fields.Float(
        help="Hours of expert services one unit buys. A product with hours is a "
        "Success Pack: confirming its order creates or tops up the customer's pack.",
    )

    @api.constrains("success_pack_hours")
    def _check_success_pack_hours(self):
        for template in self:
            if template.success_pack_hours < 0:
                raise ValidationError(
                    self.env._(
                        "The Success Pack hours of %(product)s cannot be negative.",
                        product=template.display_name,
                    )
                )
