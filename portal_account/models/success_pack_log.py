# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class SuccessPackLog(models.Model):
    _name = "success.pack.log"
    _description = "Success Pack Hours Logged"
    _order = "date desc, id desc"

    pack_id = fields.Many2one(
        comodel_name="success.pack",
        required=True,
        ondelete="cascade",
        index=True,
    )
    date = fields.Date(required=True, default=fields.Date.context_today)
    user_id = fields.Many2one(
        comodel_name="res.users",
        string="Expert",
        default=lambda self: self.env.user,
    )
    hours = fields.Float(required=True)
    name = fields.Char(string="Description", required=True)
    ticket_id = fields.Many2one(comodel_name="helpdesk.ticket")
