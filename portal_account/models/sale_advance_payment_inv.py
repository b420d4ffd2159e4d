# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models
from odoo.exceptions import UserError


class SaleAdvancePaymentInv(models.TransientModel):
    _inherit = "sale.advance.payment.inv"

    def _create_invoices(self, sale_orders):
        """A subscription bills whole periods: it takes no down payment."""
        if self.advance_payment_method != "delivered" and sale_orders.filtered(
            lambda order: order.is_subscription and order.state == "sale"
        ):
            raise UserError(
                self.env._(
                    "A subscription bills whole periods: it takes no down "
                    "payment. Choose Regular invoice to bill its open period."
                )
            )
        return super()._create_invoices(sale_orders)
