# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models


class HostedDatabase(models.Model):
    _name = "hosted.database"
    _description = "Hosted Database"
    _inherit = ["mail.thread"]
    _order = "name, id"

    name = fields.Char(required=True, tracking=True)
    url = fields.Char(string="URL")
    partner_id = fields.Many2one(
        comodel_name="res.partner",
        string="Customer",
        required=True,
        index=True,
        tracking=True,
    )
    subscription_id = fields.Many2one(
        comodel_name="sale.order",
        string="Subscription",
        index=True,
        domain="[('is_subscription', '=', True)]",
        tracking=True,
    )
    company_id = fields.Many2one(
        comodel_name="res.company",
        related="subscription_id.company_id",
        store=True,
    )
    access_state = fields.Selection(
        selection=[("active", "Active"), ("suspended", "Suspended")],
        required=True,
        default="active",
        tracking=True,
    )
    suspended_since = fields.Datetime(readonly=True)

    @api.onchange("subscription_id")
    def _onchange_subscription_id(self):
        if self.subscription_id:
            self.partner_id = self.subscription_id.partner_id

    def action_suspend_access(self):
        self._suspend_access()

    def action_restore_access(self):
        self._restore_access()

    def _suspend_access(self):
        """Cut the customer's access to these databases.

        The one place where an integrator plugs in the hosting platform: call
        ``super()`` and then tell the platform to lock the databases.
        """
        to_suspend = self.filtered(lambda db: db.access_state != "suspended")
        to_suspend.write(
            {"access_state": "suspended", "suspended_since": fields.Datetime.now()}
        )
        for database in to_suspend:
            database.message_post(body=self.env._("Access suspended."))
        return to_suspend

    def _restore_access(self):
        """Give the customer access to these databases again.

        Counterpart of :meth:`_suspend_access` for the hosting platform.
        """
        to_restore = self.filtered(lambda db: db.access_state != "active")
        to_restore.write({"access_state": "active", "suspended_since": False})
        for database in to_restore:
            database.message_post(body=self.env._("Access restored."))
        return to_restore
