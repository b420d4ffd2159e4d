# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import ValidationError

GRACE_PERIOD_PARAM = "portal_account.default_grace_period_days"
DEFAULT_GRACE_PERIOD_DAYS = 7


class SubscriptionPlan(models.Model):
    _name = "subscription.plan"
    _description = "Subscription Plan"
    _order = "sequence, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    billing_period_value = fields.Integer(
        string="Billing Every",
        required=True,
        default=1,
        help="Number of billing units between two invoices.",
    )
    billing_period_unit = fields.Selection(
        selection=[("week", "Weeks"), ("month", "Months"), ("year", "Years")],
        string="Billing Unit",
        required=True,
        default="month",
    )
    grace_period_days = fields.Integer(
        string="Grace Period (days)",
        required=True,
        default=lambda self: self._default_grace_period_days(),
        help="Days a customer has to fix an unpaid renewal before the "
        "subscription is closed and its databases are suspended.",
    )
    renewal_notice_days = fields.Integer(
        string="Renewal Notice (days)",
        default=0,
        help="Days before a renewal that the customer is told of its date, amount "
        "and card. 0: no notice.",
    )
    company_id = fields.Many2one(
        comodel_name="res.company",
        default=lambda self: self.env.company,
    )
    user_closable = fields.Boolean(
        string="Closable by Customers",
        default=True,
        help="Customers may close their subscriptions from the portal, at the end "
        "of the period they paid.",
    )
    upsell_product_ids = fields.Many2many(
        comodel_name="product.product",
        string="Upsell Products",
        check_company=True,
        domain="[('sale_ok', '=', True)]",
        help="Products customers may add to their subscriptions from the portal, "
        "besides those already on them.",
    )
    subscription_ids = fields.One2many(
        comodel_name="sale.order",
        inverse_name="subscription_plan_id",
        string="Subscriptions",
    )
    subscription_count = fields.Integer(compute="_compute_subscription_count")

    @api.model
    def _default_grace_period_days(self):
        value = (
            self.env["ir.config_parameter"]
            .sudo()
            .get_param(GRACE_PERIOD_PARAM, DEFAULT_GRACE_PERIOD_DAYS)
        )
        try:
            return max(int(value), 0)
        except (TypeError, ValueError):
            return DEFAULT_GRACE_PERIOD_DAYS

    def _compute_subscription_count(self):
        counts = dict(
            self.env["sale.order"]._read_group(
                [
                    ("subscription_plan_id", "in", self.ids),
                    ("is_subscription", "=", True),
                ],
                ["subscription_plan_id"],
                ["__count"],
            )
        )
        for plan in self:
            plan.subscription_count = counts.get(plan, 0)

    @api.constrains("billing_period_value")
    def _check_billing_period_value(self):
        for plan in self:
            if plan.billing_period_value < 1:
                raise ValidationError(
                    self.env._(
                        "The billing period of plan %(plan)s must be at least 1.",
                        plan=plan.name,
                    )
                )

    @api.constrains("grace_period_days")
    def _check_grace_period_days(self):
        for plan in self:
            if plan.grace_period_days < 0:
                raise ValidationError(
                    self.env._(
                        "The grace period of plan %(plan)s cannot be negative.",
                        plan=plan.name,
                    )
                )

    @api.constrains("renewal_notice_days")
    def _check_renewal_notice_days(self):
        for plan in self:
            if plan.renewal_notice_days < 0:
                raise ValidationError(
                    self.env._(
                        "The renewal notice of plan %(plan)s cannot be negative.",
                        plan=plan.name,
                    )
                )

    def _get_billing_period(self):
        """Return the plan's billing period as a relativedelta."""
        self.ensure_one()
        return relativedelta(
            **{f"{self.billing_period_unit}s": self.billing_period_value}
        )

    def action_open_subscriptions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "portal_account.sale_order_subscription_action"
        )
        action["domain"] = [
            ("is_subscription", "=", True),
            ("subscription_plan_id", "=", self.id),
        ]
        return action
