# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models
from odoo.tools import SQL

# The payment states in which an invoice's period counts as paid. "Reversed" is
# not one: a credit note cancels the period's invoice, nobody paid it.
PAID_STATES = ("paid", "in_payment")


class AccountMove(models.Model):
    _inherit = "account.move"

    subscription_id = fields.Many2one(
        comodel_name="sale.order",
        string="Subscription",
        index="btree_not_null",
        readonly=True,
        copy=False,
        help="The subscription this invoice bills.",
    )
    subscription_period_start = fields.Date(readonly=True, copy=False)
    subscription_period_end = fields.Date(readonly=True, copy=False)

    def init(self):
        res = super().init()
        # A partial unique index cannot be declared with _sql_constraints: it is
        # the database's guarantee that a period is never invoiced twice, even
        # when two workers or a crash and a rerun race each other.
        self.env.cr.execute(
            SQL(
                """
                CREATE UNIQUE INDEX IF NOT EXISTS account_move_subscription_period_uniq
                    ON account_move (subscription_id, subscription_period_start)
                 WHERE subscription_id IS NOT NULL
                   AND subscription_period_start IS NOT NULL
                   AND state != 'cancel'
                """
            )
        )
        return res

    def _subscription_is_paid(self):
        """Whether this invoice is paid, for its subscription and its customer."""
        self.ensure_one()
        return self.payment_state in PAID_STATES

    def _invoice_paid_hook(self):
        res = super()._invoice_paid_hook()
        paid_periods = self.filtered(
            lambda move: move.subscription_id and move.subscription_period_start
        )
        if paid_periods:
            paid_periods.subscription_id.sudo()._subscription_period_paid(paid_periods)
        return res
