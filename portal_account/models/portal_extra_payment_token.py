# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models


class PaymentToken(models.Model):
    _inherit = "payment.token"

    def get_linked_records_info(self):
        """Name the subscriptions this token pays in core's deletion dialog."""
        res = super().get_linked_records_info()
        # Searched with the caller's rights: a customer only learns about the
        # subscriptions they can already read.
        subscriptions = self.env["sale.order"].search(
            [
                ("payment_token_id", "=", self.id),
                ("is_subscription", "=", True),
                ("subscription_state", "in", ("in_progress", "to_renew")),
            ]
        )
        res.extend(
            {
                "description": self.env._("Subscription"),
                "id": subscription.id,
                "name": subscription.name,
                "url": f"/my/subscriptions/{subscription.id}",
            }
            for subscription in subscriptions
        )
        return res
