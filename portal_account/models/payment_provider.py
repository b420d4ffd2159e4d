# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from odoo import models

# How long after a charge request a provider still recognises the same charge
# sent again, by the idempotency key core's module derives from its reference
# (``payment.utils.generate_idempotency_key``): Stripe keeps keys at least 24
# hours, Adyen at least 7 days. ``demo`` settles locally: a request that raised
# took nothing. Others (Worldline sends a key, for a time it does not document)
# are never sent again: their charge of unknown outcome is checked by hand.
RESEND_WINDOWS = {
    "demo": timedelta(days=30),
    "stripe": timedelta(hours=23),
    "adyen": timedelta(days=6),
}


class PaymentProvider(models.Model):
    _inherit = "payment.provider"

    def _subscription_resend_window(self):
        """How long a charge of unknown outcome may be sent again as itself.

        ``None`` when the provider does not deduplicate charges by reference.
        """
        self.ensure_one()
        return RESEND_WINDOWS.get(self.code)
