# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models


class SaleOrder(models.Model):
    _inherit = "sale.order"

    @api.model
    def _cron_subscription_renewal(self, *args, **kwargs):
        self._subscription_run_lifecycle(fields.Date.context_today(self))
        return super()._cron_subscription_renewal(*args, **kwargs)
