# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models


class SuccessPack(models.Model):
    _name = "success.pack"
    _description = "Success Pack"
    _inherit = ["mail.thread"]
    _order = "id desc"

    name = fields.Char(
        required=True,
        tracking=True,
        help="Defaults to the name of the product that bought the pack, else to "
        "a reference of the Success Pack sequence.",
    )
    active = fields.Boolean(default=True)
    partner_id = fields.Many2one(
        comodel_name="res.partner",
        string="Customer",
        required=True,
        index=True,
        tracking=True,
    )
    expert_id = fields.Many2one(
        comodel_name="res.users",
        string="Expert",
        tracking=True,
        help="The consultant the customer's tickets are assigned to.",
    )
    # Customers cannot read internal users: the portal shows the expert's
    # picture through the pack they can read (/web/image/success.pack/...).
    expert_avatar_128 = fields.Image(
        string="Expert Avatar", related="expert_id.avatar_128"
    )
    company_id = fields.Many2one(
        comodel_name="res.company",
        required=True,
        default=lambda self: self.env.company,
    )
    sale_order_line_id = fields.Many2one(
        comodel_name="sale.order.line",
        string="Sales Order Line",
        help="The last order line that bought or topped up this pack.",
    )
    hours_purchased = fields.Float(string="Hours Bought", tracking=True)
    hours_used = fields.Float(compute="_compute_hours_used", store=True)
    hours_remaining = fields.Float(
        string="Hours Left", compute="_compute_hours_used", store=True
    )
    log_ids = fields.One2many(
        comodel_name="success.pack.log",
        inverse_name="pack_id",
        string="Hours Logged",
    )
    state = fields.Selection(
        selection=[("active", "Active"), ("exhausted", "Exhausted")],
        compute="_compute_hours_used",
        store=True,
    )

    @api.depends("hours_purchased", "log_ids.hours")
    def _compute_hours_used(self):
        hours_by_pack = dict(
            self.env["success.pack.log"]._read_group(
                [("pack_id", "in", self.ids)], ["pack_id"], ["hours:sum"]
            )
        )
        for pack in self:
            used = (
                hours_by_pack.get(pack, 0.0)
                if pack.id
                else sum(pack.log_ids.mapped("hours"))
            )
            pack.hours_used = used
            pack.hours_remaining = pack.hours_purchased - used
            pack.state = "active" if pack.hours_remaining > 0 else "exhausted"

    @api.model_create_multi
    def create(self, vals_list):
        lines = self.env["sale.order.line"].browse(
            vals["sale_order_line_id"]
            for vals in vals_list
            if not vals.get("name") and vals.get("sale_order_line_id")
        )
        product_names = {line.id: line.product_id.name for line in lines.sudo()}
        for vals in vals_list:
            if not vals.get("name"):
                vals["name"] = product_names.get(
                    vals.get("sale_order_line_id")
                ) or self.env["ir.sequence"].sudo().next_by_code("success.pack")
        return super().create(vals_list)
