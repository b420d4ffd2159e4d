# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
import re
from datetime import timedelta
from html import unescape

from odoo import api, fields, models
from odoo.exceptions import UserError

_logger = logging.getLogger(__name__)

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


# The dunning of subscriptions, apart from their life cycle in sale_order.py.
class SaleOrder(models.Model):
    _inherit = "sale.order"  # pylint: disable=consider-merging-classes-inherited

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
        if not (
            self.payment_token_id and self.payment_token_id._is_valid_for_charge(today)
        ):
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

    def _renewal_retry_due(self, today):
        """The subscriptions waiting for their renewal whose card is to be tried
        again today: at most once a day, on the days of the setting, during the
        grace period. No query: the engine's batches read all of it already."""
        retry_days = self._renewal_retry_days()
        return self.filtered(
            lambda o: o.subscription_state == "to_renew"
            and o.next_invoice_date
            and (not o.renewal_deadline or today <= o.renewal_deadline)
            and (not o.renewal_last_try_date or o.renewal_last_try_date < today)
            and (retry_days is None or (today - o.next_invoice_date).days in retry_days)
            and o.payment_token_id
            and o.payment_token_id._is_valid_for_charge(today)
        )

    def _renewal_next_try(self, today):
        """The next day the card of this subscription will be tried, if any."""
        self.ensure_one()
        if (
            self.subscription_state != "to_renew"
            or not self.next_invoice_date
            or not self.payment_token_id
        ):
            return False
        retry_days = self._renewal_retry_days()
        day = today
        if self.renewal_last_try_date and self.renewal_last_try_date >= day:
            day = self.renewal_last_try_date + timedelta(days=1)
        last_day = self.renewal_deadline or day
        while day <= last_day:
            if (
                retry_days is None or (day - self.next_invoice_date).days in retry_days
            ) and self.payment_token_id._is_valid_for_charge(day):
                return day
            day += timedelta(days=1)
        return False

    def _renewal_record_tries(self, today):
        """Record that the cards of these subscriptions were tried ``today``."""
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
            if not (
                order.payment_token_id
                and order.payment_token_id._is_valid_for_charge(today)
            ):
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
            order._renewal_charge_now(today)
        return True

    def _renewal_charge_now(self, today):
        """Charge the open period of this subscription with its card, at once."""
        self.ensure_one()
        return self._subscription_charge_open_period()

    def _subscription_charge_open_period(self):
        # Try Again Now, and a card attached from the portal: charged at once,
        # and counted as the day's try.
        self._renewal_record_tries(fields.Date.context_today(self))
        return super()._subscription_charge_open_period()

    # ------------------------------------------------------------
    # Business methods: notices and emails
    # ------------------------------------------------------------

    def _renewal_open_invoices(self):
        """The posted, unpaid invoices of the subscriptions' open periods."""
        if not self:
            return self.env["account.move"]
        invoices = (
            self.env["account.move"]
            .sudo()
            .search(
                [
                    ("subscription_id", "in", self.ids),
                    ("state", "=", "posted"),
                    ("payment_state", "not in", ("paid", "in_payment", "reversed")),
                    (
                        "subscription_period_start",
                        "in",
                        list(set(self.mapped("next_invoice_date"))),
                    ),
                ]
            )
        )
        periods = {(order.id, order.next_invoice_date) for order in self}
        return invoices.filtered(
            lambda move: (move.subscription_id.id, move.subscription_period_start)
            in periods
        )

    @api.model
    def _renewal_notice_due(self, today):
        """The running subscriptions whose customer is to be told today of the
        coming renewal: within the plan's notice days, once per period."""
        max_days = max(
            self.env["subscription.plan"]
            .with_context(active_test=False)
            .search([("renewal_notice_days", ">", 0)])
            .mapped("renewal_notice_days"),
            default=0,
        )
        if not max_days:
            return self.browse()
        return self.search(
            [
                ("is_subscription", "=", True),
                ("state", "=", "sale"),
                ("subscription_state", "=", "in_progress"),
                ("subscription_plan_id.renewal_notice_days", ">", 0),
                ("next_invoice_date", ">", today),
                ("next_invoice_date", "<=", today + timedelta(days=max_days)),
            ]
        ).filtered(
            lambda o: (o.next_invoice_date - today).days
            <= o.subscription_plan_id.renewal_notice_days
            and o.renewal_notice_date != o.next_invoice_date
        )

    def _renewal_send_notice(self):
        """Email the renewal notice, once per renewal date."""
        for next_date, orders in self.grouped("next_invoice_date").items():
            orders.with_context(mail_notrack=True).renewal_notice_date = next_date
        self._subscription_send_mail("mail_template_subscription_renewal_notice")
        return self

    # ------------------------------------------------------------
    # The renewal engine's steps
    # ------------------------------------------------------------

    @api.model
    def _cron_subscription_renewal(self, *args, **kwargs):
        today = fields.Date.context_today(self)
        self._subscription_cron_env()._renewal_send_renewal_notices(today)
        return super()._cron_subscription_renewal(*args, **kwargs)

    @api.model
    def _renewal_send_renewal_notices(self, today):
        """Tell the customers of the coming renewals; a notice that cannot be
        sent is logged and tried again the next day."""
        due = self._renewal_notice_due(today)
        if due:
            self._subscription_in_units(due, lambda units: units._renewal_send_notice())

    def _subscription_renew_with_token(self, today):
        """Charge the renewals due, and the cards due for a try today; those
        waiting for their next try go on with their grace period."""
        waiting = self.filtered(lambda o: o.subscription_state == "to_renew")
        resting = waiting - waiting._renewal_retry_due(today)
        handled = self.browse()
        if resting:
            try:
                with self._subscription_isolated():
                    locked = resting._subscription_lock_batch(today)
                    locked._subscription_process_without_card(today)
                    handled = locked
            except Exception:
                _logger.exception("Renewal batch %s failed.", resting.ids)
        charged = self - resting
        if charged:
            charged._renewal_record_tries(today)
            handled |= super(SaleOrder, charged)._subscription_renew_with_token(today)
        return handled

    def _subscription_charge_outcome(self, paid, today):
        opening = self.filtered(lambda o: o.subscription_state == "in_progress")
        handled = super()._subscription_charge_outcome(paid, today)
        # Their card was declined: the decline email instead of "needs a card".
        opening.filtered(
            lambda o: o.subscription_state == "to_renew"
            and o.subscription_notice == "to_renew"
        ).with_context(mail_notrack=True).subscription_notice = "declined"
        return handled

    def _subscription_send_notices_locked(self):
        declined = self.filtered(lambda o: o.subscription_notice == "declined")
        orders = super()._subscription_send_notices_locked()
        (declined & orders).filtered(
            lambda o: o.subscription_state == "to_renew"
        )._subscription_send_mail("mail_template_subscription_declined")
        return orders
