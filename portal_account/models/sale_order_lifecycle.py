# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models


# The engine's own steps are defined in sale_order.py: these extend them.
class SaleOrder(models.Model):
    """The life cycle's steps in the renewal engine's daily run."""

    _inherit = "sale.order"  # pylint: disable=consider-merging-classes-inherited

    @api.model
    def _cron_subscription_renewal(self, *args, **kwargs):
        self._subscription_run_lifecycle(fields.Date.context_today(self))
        return super()._cron_subscription_renewal(*args, **kwargs)

    @api.model
    def _subscription_renewal_domain(self, today):
        # A period starting on or after the end date the customer chose is
        # never billed, whatever closed the subscription meanwhile.
        return super()._subscription_renewal_domain(today) + [
            "|",
            ("subscription_end_date", "=", False),
            ("subscription_end_date", ">", today),
        ]
