# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The dunning of subscriptions: card retries, the decline email's data, and
the admins' Dunning view with its actions.

The renewal engine (``sale_order_renewal.py``) calls the retry rule here when
it decides who is charged, and records each day's try when it charges.
"""
# A third class inheriting sale.order, on purpose: the dunning reads apart from
# the engine and from the life cycle in sale_order.py.
# pylint: disable=consider-merging-classes-inherited

import re
from datetime import timedelta
from html import unescape

from odoo import api, fields, models
from odoo.exceptions import UserError

RETRY_DAYS_PARAM = "portal_account.renewal_retry_days"
DECLINE_MESSAGE_LENGTH = 200
# Long digit runs in a provider's message may be a card or account number.
DIGIT_RUN = re.compile(r"\d[\d -]{4,}\d")
MARKUP = re.compile(r"<[^>]*>")
DUNNING_STATES = [
    ("no_card", "No payment method"),
    ("retry_due", "Retry due today"),
    ("retry_scheduled", "Retry scheduled"),
    ("no_retry_left", "No retry left"),
]


def sanitize_decline_message(message):
    """A provider's message as it may be shown to the customer: plain text,
    on one line, no long digit runs, short."""
    text = " ".join(unescape(MARKUP.sub(" ", message or "")).split())
    text = DIGIT_RUN.sub("…", text)
    if len(text) > DECLINE_MESSAGE_LENGTH:
        text = text[: DECLINE_MESSAGE_LENGTH - 1].rstrip() + "…"
    return text


class SaleOrder(models.Model):
    _inherit = "sale.order"

    subscription_notice = fields.Selection(
        selection_add=[("declined", "Payment declined")],
        ondelete={"declined": "set null"},
    )
    renewal_notice_date = fields.Date(
        copy=False,
        readonly=True,
        help="Technical: the renewal date of which the customer was given notice.",
    )
    renewal_last_try_date = fields.Date(
        string="Last Try",
        copy=False,
        readonly=True,
        help="Last day the card was charged for the renewal waiting to be paid: "
        "a card is tried at most once a day.",
    )
    renewal_amount = fields.Monetary(
        currency_field="currency_id",
        compute="_compute_renewal_amount",
        help="What the next renewal bills: the recurring lines, taxes included.",
    )
    renewal_dunning_state = fields.Selection(
        selection=DUNNING_STATES,
        string="Dunning",
        compute="_compute_renewal_dunning",
    )
    renewal_next_try_date = fields.Date(
        string="Next Try", compute="_compute_renewal_dunning"
    )
    renewal_try_count = fields.Integer(
        string="Tries", compute="_compute_renewal_dunning"
    )
    renewal_decline_message = fields.Char(
        string="Last Decline", compute="_compute_renewal_dunning"
    )
    renewal_open_invoice_id = fields.Many2one(
        comodel_name="account.move",
        string="Invoice to Pay",
        compute="_compute_renewal_dunning",
    )
    renewal_amount_due = fields.Monetary(
        string="Amount Due",
        currency_field="currency_id",
        compute="_compute_renewal_dunning",
    )

    @api.depends("order_line.price_total", "order_line.product_uom_qty")
    def _compute_renewal_amount(self):
        for order in self:
            order.renewal_amount = sum(
                line.price_total
                for line in order.order_line
                if line._is_subscription_recurring()
            )

    @api.depends(
        "subscription_state",
        "next_invoice_date",
        "renewal_deadline",
        "renewal_last_try_date",
        "payment_token_id",
    )
    @api.depends_context("date")
    def _compute_renewal_dunning(self):
        today = fields.Date.context_today(self)
        waiting = self.filtered(
            lambda o: o.subscription_state == "to_renew" and o.next_invoice_date
        )
        invoices = waiting._renewal_open_invoices()
        invoice_of = {move.subscription_id: move for move in invoices}
        charges = (
            self.env["payment.transaction"]
            .sudo()
            .search(
                [
                    ("invoice_ids", "in", invoices.ids),
                    ("operation", "!=", "validation"),
                ],
                order="id",
            )
        )
        tries, last_decline = {}, {}
        for charge in charges:
            for invoice in charge.invoice_ids & invoices:
                tries[invoice] = tries.get(invoice, 0) + 1
                if charge.state in ("error", "cancel"):
                    last_decline[invoice] = charge.state_message or ""
        for order in self:
            invoice = invoice_of.get(order, self.env["account.move"])
            order.renewal_open_invoice_id = invoice
            order.renewal_amount_due = invoice.amount_residual
            order.renewal_try_count = tries.get(invoice, 0)
            order.renewal_decline_message = (
                sanitize_decline_message(last_decline[invoice])
                if invoice in last_decline
                else False
            )
            order.renewal_next_try_date = order._renewal_next_try(today)
            order.renewal_dunning_state = order._renewal_dunning_state(today)

    def _renewal_dunning_state(self, today):
        self.ensure_one()
        if self.subscription_state != "to_renew":
            return False
        if not self._subscription_can_pay_with(self.payment_token_id, today):
            return "no_card"
        if self.renewal_next_try_date == today:
            return "retry_due"
        if self.renewal_next_try_date:
            return "retry_scheduled"
        return "no_retry_left"

    # ------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------

    def action_renewal_try_now(self):
        """Charge the card now, unless it was already tried today."""
        return self._renewal_try_now(force=False)

    def action_renewal_force_try(self):
        """Charge the card now even if it was tried today; the force is logged."""
        return self._renewal_try_now(force=True)

    def action_renewal_extend_grace(self):
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Extend Grace Period"),
            "res_model": "subscription.grace.extend",
            "view_mode": "form",
            "target": "new",
            "context": {"default_subscription_ids": self.ids},
        }

    # ------------------------------------------------------------
    # Business methods: retries
    # ------------------------------------------------------------

    @api.model
    def _renewal_retry_days(self):
        """The days after the renewal date on which a declined card is tried
        again, as a set; None: every day of the grace period."""
        value = self.env["ir.config_parameter"].sudo().get_param(RETRY_DAYS_PARAM) or ""
        days = {int(day) for day in re.findall(r"\d+", value)}
        return days or None

    def _renewal_retry_due(self, day):
        """Whether the card of this subscription waiting for its renewal is to
        be tried again on ``day``: in the grace period, on a day of the
        setting, and not tried yet that day. No query: the engine asks it of
        every subscription of its batches."""
        self.ensure_one()
        retry_days = self._renewal_retry_days()
        return bool(
            self.subscription_state == "to_renew"
            and self.next_invoice_date
            and (not self.renewal_deadline or day <= self.renewal_deadline)
            and (not self.renewal_last_try_date or self.renewal_last_try_date < day)
            and (
                retry_days is None or (day - self.next_invoice_date).days in retry_days
            )
        )

    def _renewal_answer_lost(self, today):
        """Whether this subscription's card was tried today and the provider's
        answer was lost: the charge is then sent again as itself, never as a
        new one (``_renewal_charge``)."""
        self.ensure_one()
        if self.renewal_last_try_date != today:
            # Every subscription of a batch but those tried today: no query.
            return False
        return bool(
            self.env["payment.transaction"]
            .sudo()
            .search_count(
                [
                    ("invoice_ids", "in", self._subscription_period_invoices().ids),
                    ("state", "=", "draft"),
                    ("operation", "!=", "validation"),
                ],
                limit=1,
            )
        )

    def _renewal_next_try(self, today):
        """The next day the card of this subscription will be tried, if any."""
        self.ensure_one()
        day = today
        last_day = self.renewal_deadline or today
        while day <= last_day and not self._renewal_retry_due(day):
            day += timedelta(days=1)
        # A card that cannot pay on that day cannot on a later one either.
        if day <= last_day and self._subscription_can_pay_with(
            self.payment_token_id, day
        ):
            return day
        return False

    def _renewal_record_tries(self, today):
        """Record that the cards of these subscriptions are tried ``today``."""
        untried = self.filtered(lambda o: o.renewal_last_try_date != today)
        # A technical date: no chatter entry (the charge logs its own outcome).
        untried.with_context(mail_notrack=True).renewal_last_try_date = today

    def _renewal_try_now(self, force=False):
        today = fields.Date.context_today(self)
        for order in self:
            if order.subscription_state != "to_renew":
                raise UserError(
                    self.env._(
                        "The subscription %s is not waiting for its renewal.",
                        order.name,
                    )
                )
            if not order._subscription_can_pay_with(order.payment_token_id, today):
                raise UserError(
                    self.env._(
                        "The subscription %s has no payment method that can be "
                        "charged.",
                        order.name,
                    )
                )
            if order.renewal_last_try_date == today and not force:
                raise UserError(
                    self.env._(
                        "The card of %s was already charged today: a card is tried "
                        "at most once a day. Use Force Try to charge it again anyway.",
                        order.name,
                    )
                )
        for order in self:
            if force and order.renewal_last_try_date == today:
                order.message_post(
                    body=self.env._(
                        "%(user)s forced a new charge of the card although it was "
                        "already tried today.",
                        user=self.env.user.name,
                    )
                )
            order._renewal_charge_now()
        return True

    def _renewal_charge_now(self):
        """Charge the open period of this subscription with its card, at once."""
        self.ensure_one()
        # As a portal payment: wait for the engine if it holds the row.
        self._subscription_lock(wait=True)
        return self._subscription_charge_open_period()

    # ------------------------------------------------------------
    # Business methods: the decline email's data
    # ------------------------------------------------------------

    def _renewal_open_invoices(self):
        """The posted invoices of the subscriptions' open periods left to pay."""
        return self._subscription_period_invoices().filtered(
            lambda move: move.state == "posted"
            and not move._subscription_is_paid()
            and move.amount_residual > 0
        )
