# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models

from .sale_order_renewal import (
    DEFAULT_EXPIRY_WARNING_DAYS,
    DEFAULT_MAX_ATTEMPTS,
    EXPIRY_WARNING_PARAM,
    MAX_ATTEMPTS_PARAM,
)
from .subscription_plan import DEFAULT_GRACE_PERIOD_DAYS, GRACE_PERIOD_PARAM


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    subscription_grace_period_days = fields.Integer(
        string="Default Grace Period (days)",
        config_parameter=GRACE_PERIOD_PARAM,
        default=DEFAULT_GRACE_PERIOD_DAYS,
        help="Grace period of new subscription plans.",
    )
    subscription_expiry_warning_days = fields.Integer(
        string="Card Expiry Warning (days)",
        config_parameter=EXPIRY_WARNING_PARAM,
        default=DEFAULT_EXPIRY_WARNING_DAYS,
        help="Days before a renewal at which customers whose card will have "
        "expired by then are warned.",
    )
    subscription_charge_max_attempts = fields.Integer(
        string="Charge Attempts",
        config_parameter=MAX_ATTEMPTS_PARAM,
        default=DEFAULT_MAX_ATTEMPTS,
        help="How many times a renewal charge whose outcome is unknown (its "
        "request failed) is sent again, to providers that recognise it, before "
        "the subscription is flagged as a charge to check.",
    )
