# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The renewal engine: the daily run that bills, charges and chases renewals.

Read it top-down. ``_cron_subscription_renewal`` finds the due subscriptions
and runs them batch by batch; ``_renewal_run`` is a batch's four steps:

1. ``_renewal_start``: lock the rows, close those whose customer's end date
   came and resume those whose pause ended, handle those without a card that
   can pay (grace period: open, remind, close), bill the open periods of the
   others and record their charges, all on record before any provider is
   called;
2. ``_renewal_send``: send each charge to its provider, on its own;
3. ``_renewal_settle``: make the payments of the charges that went through,
   move the paid subscriptions on, open the grace period of the declined;
4. ``_subscription_send_notices``: email the customers.

How batches are committed and isolated is in ``tools/work_units.py``.
"""
# A second class inheriting sale.order, on purpose: the engine reads apart from
# the life cycle in sale_order.py.
# pylint: disable=consider-merging-classes-inherited

import logging
from collections import defaultdict
from datetime import timedelta

from psycopg2 import errors as pg_errors

from odoo import Command, api, fields, models
from odoo.osv import expression
from odoo.tools import SQL
from odoo.tools.mail import generate_tracking_message_id

from ..tools.work_units import Batches, engine_env, work_units

_logger = logging.getLogger(__name__)

RENEWAL_BATCH_SIZE = 500
REMINDER_DAYS = (3, 1)
EXPIRY_WARNING_PARAM = "portal_account.card_expiry_warning_days"
DEFAULT_EXPIRY_WARNING_DAYS = 30
MAX_ATTEMPTS_PARAM = "portal_account.charge_max_attempts"
DEFAULT_MAX_ATTEMPTS = 3
# Renewal notices: email template, and the state in which it still applies.
SUBSCRIPTION_NOTICES = {
    "to_renew": ("mail_template_subscription_to_renew", "to_renew"),
    "reminder": ("mail_template_subscription_reminder", "to_renew"),
    "closed": ("mail_template_subscription_closed", "closed"),
    "paid": ("mail_template_subscription_payment_done", "in_progress"),
    "declined": ("mail_template_subscription_declined", "to_renew"),
}
UNDER_WAY_STATES = ("draft", "pending", "authorized")


class SaleOrder(models.Model):
    _inherit = "sale.order"

    # ------------------------------------------------------------
    # The daily run
    # ------------------------------------------------------------

    @api.model
    def _cron_subscription_renewal(self, batch_size=RENEWAL_BATCH_SIZE):
        """Warn of expiring cards, give notice of coming renewals, then renew
        the due subscriptions.

        Return how many subscriptions were done with; the others are reported
        to the job runner, which calls again for them.
        """
        today = fields.Date.context_today(self)
        engine = engine_env(self)
        engine._renewal_send_advance_notices(today)
        batches = Batches(
            engine,
            engine._renewal_due_domain(today),
            batch_size,
            order="next_invoice_date, id",
        )
        for batch in batches:
            batches.mark_done(batch._renewal_run(today))
        return batches.notify_progress()

    @api.model
    def _renewal_send_advance_notices(self, today):
        """Tell the customers of what comes: an expiring card, a renewal."""
        self._renewal_warn_card_expiry(today)
        self._renewal_send_renewal_notices(today)

    @api.model
    def _renewal_due_domain(self, today):
        """The subscriptions the engine has something to do with today: the
        renewals due, and the life cycle's changes of the day."""
        return expression.AND(
            [
                [("is_subscription", "=", True), ("state", "=", "sale")],
                expression.OR(
                    [
                        self._renewal_to_renew_domain(today),
                        self._renewal_to_close_domain(today),
                        self._renewal_to_resume_domain(today),
                    ]
                ),
            ]
        )

    @api.model
    def _renewal_to_renew_domain(self, today):
        """Renewals due: neither paused nor past the customer's end date."""
        return [
            "|",
            ("subscription_end_date", "=", False),
            ("subscription_end_date", ">", today),
            "|",
            "&",
            ("subscription_state", "=", "in_progress"),
            ("next_invoice_date", "<=", today),
            "&",
            ("subscription_state", "=", "to_renew"),
            "|",
            ("subscription_checked_date", "=", False),
            ("subscription_checked_date", "<", today),
        ]

    @api.model
    def _renewal_to_close_domain(self, today):
        """Subscriptions whose customer's end date came: closed, never billed."""
        return [
            ("subscription_state", "in", ("in_progress", "to_renew", "paused")),
            ("subscription_end_date", "<=", today),
        ]

    @api.model
    def _renewal_to_resume_domain(self, today):
        """Paused subscriptions whose resume date came."""
        return [
            ("subscription_state", "=", "paused"),
            ("subscription_resume_date", "<=", today),
        ]

    def _renewal_run(self, today):
        """Renew a batch of due subscriptions; return those done with.

        Subscriptions that another transaction holds, whose charge is under
        way, or that failed are left to the next run.
        """
        graced, charged, transactions = self._renewal_start(today)
        transactions._renewal_send()
        handled = graced | charged._renewal_settle(transactions, today)
        handled.filtered("subscription_notice")._subscription_send_notices()
        return handled

    # ------------------------------------------------------------
    # Step 1: lock, grace periods, bill, record the charges
    # ------------------------------------------------------------

    def _renewal_start(self, today):
        """Return the subscriptions done with (closed, resumed, grace periods),
        those charged, and the charges to send."""
        graced, charged = self.browse(), self.browse()
        transactions = self.env["payment.transaction"].sudo()
        failed = self.browse()
        for unit in work_units(self):
            with unit:
                orders = unit.records._renewal_lock(today)
                due = orders._renewal_close_and_resume(today)
                payable = due.filtered(lambda o: o._renewal_may_charge(today))
                (due - payable)._renewal_grace(today)
                unit_transactions = payable._renewal_charge(payable._renewal_bill())
            if not unit.failed:
                graced |= orders - payable
                charged |= payable
                transactions |= unit_transactions
            elif len(unit.records) == 1:
                failed |= unit.records
        failed._renewal_flag_failures(today)
        return graced, charged, transactions

    def _renewal_lock(self, today):
        """Lock the rows; return those locked and still due.

        The batch was read before the lock: since then another worker or a
        portal payment may have renewed some of it and committed. Read again
        and keep what is still due, or its next period would be billed now.
        """
        try:
            with self.env.cr.savepoint():
                locked = self._subscription_lock()
        except pg_errors.SerializationFailure:
            # Changed by another worker since this run began: next run.
            _logger.info("Renewal batch %s changed concurrently; skipped.", self.ids)
            return self.browse()
        if not locked:
            return locked
        locked.invalidate_recordset()
        return self.search([("id", "in", locked.ids)] + self._renewal_due_domain(today))

    def _renewal_close_and_resume(self, today):
        """The life cycle's changes of the day; return the renewals left due.

        Closed first, so that nothing is billed on or after a customer's end
        date; a subscription resumed today is renewed today if its (moved)
        next invoice date has come.
        """
        self.filtered_domain(self._renewal_to_close_domain(today))._subscription_close(
            "customer"
        )
        self.filtered_domain(
            self._renewal_to_resume_domain(today)
        ).action_subscription_resume()
        return self.filtered_domain(self._renewal_to_renew_domain(today))

    def _renewal_may_charge(self, today):
        """Whether the open period is to be charged today, with the card set.

        A declined card is tried again at most once a day, on the retry days
        (``sale_order_dunning.py``), however often the engine runs; a charge
        of today whose answer was lost is still sent again, as itself.
        """
        self.ensure_one()
        if self.subscription_state == "to_renew" and (
            today > self.renewal_deadline
            or not (self._renewal_retry_due(today) or self._renewal_answer_lost(today))
        ):
            return False
        return self._subscription_can_pay_with(self.payment_token_id, today)

    def _renewal_grace(self, today):
        """Subscriptions without a card that can pay: close, remind or open."""
        overdue = self.filtered(
            lambda o: o.subscription_state == "to_renew" and today > o.renewal_deadline
        )
        overdue._subscription_close("unpaid")
        waiting = (self - overdue).filtered(
            lambda o: o.subscription_state == "to_renew"
        )
        waiting._renewal_remind(today)
        (self - overdue - waiting)._subscription_set_to_renew(today)
        self._renewal_mark_checked(today)

    def _renewal_bill(self):
        """Return the invoices of the open periods, the missing ones made now.

        A period is billed once: the unique index on (subscription, period
        start) refuses a second invoice, whoever makes it. A paused
        subscription, or a period starting on or after the customer's end
        date, is not billed.
        """
        invoices = self._subscription_period_invoices()
        missing = (self - invoices.subscription_id).filtered(
            lambda o: o._subscription_bills_open_period()
        )
        if missing:
            invoices |= missing._renewal_create_invoices()
        invoices.filtered(lambda move: move.state == "draft").action_post()
        return invoices

    def _renewal_create_invoices(self):
        """Create and post the invoice of each subscription's open period.

        The seats the customers removed leave the subscriptions first: the
        period billed now is the first without them.
        """
        self._subscription_apply_removed_seats()
        values_list = []
        for order in self:
            period_start = order.next_invoice_date
            period_end = (
                period_start
                + order.subscription_plan_id._get_billing_period()
                - timedelta(days=1)
            )
            values = order.with_company(order.company_id)._prepare_invoice()
            values.pop("transaction_ids", None)
            values.update(
                {
                    "subscription_period_start": period_start,
                    "subscription_period_end": period_end,
                    "invoice_date": fields.Date.context_today(self),
                    "invoice_line_ids": [
                        Command.create(
                            line._prepare_subscription_invoice_line(
                                period_start, period_end
                            )
                        )
                        for line in order.order_line
                        if line._is_subscription_recurring()
                    ],
                }
            )
            values_list.append(values)
        invoices = (
            self.env["account.move"]
            .sudo()
            .with_context(default_move_type="out_invoice")
            .create(values_list)
        )
        invoices.action_post()
        return invoices

    def _renewal_charge(self, invoices):
        """Record a charge for each of ``invoices`` left to pay; return them.

        A period whose charge went through or is under way gets no new one. A
        charge whose outcome is unknown (its request raised) is sent again as
        itself, same reference, when its provider deduplicates by reference;
        otherwise, or after too many tries, the subscription is flagged for
        someone to check with the provider.
        """
        to_pay = invoices.filtered(
            lambda move: not move._subscription_is_paid() and move.amount_residual > 0
        )
        Transaction = self.env["payment.transaction"].sudo()
        existing = Transaction.search(
            [
                ("invoice_ids", "in", to_pay.ids),
                ("state", "in", (*UNDER_WAY_STATES, "done")),
                ("operation", "!=", "validation"),
            ]
        )
        unknown = existing.filtered(lambda tx: tx.state == "draft")
        resend = unknown.filtered(lambda tx: tx._subscription_may_resend())
        (unknown - resend)._subscription_flag_charge()
        now = fields.Datetime.now()
        for attempts, group in resend.grouped("subscription_charge_attempts").items():
            group.write(
                {
                    "subscription_charge_attempts": attempts + 1,
                    "subscription_charge_attempt_date": now,
                }
            )
        unpaid = to_pay - existing.invoice_ids
        # The day's try of each card, for the once-a-day rule of retries.
        unpaid.subscription_id._renewal_record_tries(fields.Date.context_today(self))
        values_by_token = defaultdict(list)
        for invoice in unpaid:
            order = invoice.subscription_id
            values_by_token[order.payment_token_id].append(
                order._renewal_charge_values(invoice)
            )
        # Core's check of the token of new transactions reads one token only.
        new = Transaction.union(
            *(Transaction.create(values) for values in values_by_token.values())
        )
        return resend | new

    def _renewal_charge_values(self, invoice):
        """Values of the transaction charging ``invoice`` with the token."""
        self.ensure_one()
        token = self.payment_token_id.sudo()
        return {
            "provider_id": token.provider_id.id,
            "payment_method_id": token.payment_method_id.id,
            "reference": self.env["payment.transaction"]
            .sudo()
            ._compute_reference(token.provider_id.code, prefix=invoice.name),
            "amount": invoice.amount_residual,
            "currency_id": invoice.currency_id.id,
            "partner_id": invoice.partner_id.id,
            "token_id": token.id,
            "operation": "offline",
            "invoice_ids": [Command.set(invoice.ids)],
            "subscription_charge_attempts": 1,
            "subscription_charge_attempt_date": fields.Datetime.now(),
        }

    # ------------------------------------------------------------
    # Step 3: settle
    # ------------------------------------------------------------

    def _renewal_settle(self, transactions, today):
        """Settle the charges; return the subscriptions done with.

        The payments of the charges that went through are made together;
        then, per subscription: paid ones move on, declined ones open (or go
        on with) their grace period, and those whose charge is under way wait
        for it, flagged if it outlasts the grace period.
        """
        transactions._renewal_post_process()
        handled = self.browse()
        for unit in work_units(self):
            with unit:
                unit_handled = unit.records._renewal_outcome(transactions, today)
            if not unit.failed:
                handled |= unit_handled
        return handled

    def _renewal_outcome(self, transactions, today):
        """Act on the outcome of ``transactions``; return the subscriptions
        done with (all but those whose charge is under way)."""
        transactions.filtered(
            lambda tx: tx.state in ("error", "cancel")
        )._subscription_log_declined()
        # The paid hook moved most of them on already; this covers invoices
        # paid before the hook could see them.
        invoices = transactions.invoice_ids | self._subscription_period_invoices()
        self._subscription_period_paid(invoices)
        paid = (
            self
            & invoices.filtered(
                lambda move: move._subscription_is_paid() or move.amount_residual <= 0
            ).subscription_id
        )
        under_way = (self - paid)._renewal_charges_under_way()
        under_way.filtered(
            lambda tx: tx._subscription_outlasts_grace(today)
        )._subscription_flag_charge()
        waiting = under_way.invoice_ids.subscription_id & self
        declined = self - paid - waiting
        opened = declined._subscription_set_to_renew(today, notice="declined")
        (declined - opened)._renewal_remind(today)
        handled = self - waiting
        handled._renewal_mark_checked(today)
        return handled

    def _renewal_charges_under_way(self):
        """The charges under way of these subscriptions' open periods.

        A charge waiting for its provider, or done and waiting for its
        post-processing, may still pay the period: no grace period opens
        meanwhile, and no other charge is sent.
        """
        transactions = (
            self.env["payment.transaction"]
            .sudo()
            .search(
                [
                    ("invoice_ids.subscription_id", "in", self.ids),
                    (
                        "invoice_ids.subscription_period_start",
                        "in",
                        list(set(self.mapped("next_invoice_date"))),
                    ),
                    ("operation", "!=", "validation"),
                    "|",
                    ("state", "in", UNDER_WAY_STATES),
                    "&",
                    ("state", "=", "done"),
                    ("is_post_processed", "=", False),
                ]
            )
        )
        periods = {(order, order.next_invoice_date) for order in self}
        return transactions.filtered(
            lambda tx: any(
                (move.subscription_id, move.subscription_period_start) in periods
                for move in tx.invoice_ids
            )
        )

    def _renewal_flag_failures(self, today):
        """Flag the subscriptions whose renewal keeps failing past their grace."""
        overdue = self.filtered(
            lambda o: today
            > o.next_invoice_date
            + timedelta(days=o.subscription_plan_id.grace_period_days)
            and not o.subscription_charge_to_check
        )
        for unit in work_units(overdue):
            with unit:
                for order in unit.records:
                    order._subscription_flag_for_review(
                        self.env._(
                            "The renewal of the period starting %(date)s failed at "
                            "every run of the renewals: see the server log.",
                            date=order.next_invoice_date,
                        )
                    )

    def _renewal_mark_checked(self, today):
        # A technical date: no chatter entry, and no write where it is set.
        self.filtered(lambda o: o.subscription_checked_date != today).with_context(
            mail_notrack=True
        ).subscription_checked_date = today

    def _renewal_remind(self, today):
        due = self.filtered(
            lambda o: o.renewal_deadline
            and (o.renewal_deadline - today).days in REMINDER_DAYS
        )
        if due:
            due.subscription_notice = "reminder"
            self._subscription_trigger_notices()

    def _subscription_set_to_renew(self, today, notice="to_renew"):
        """Open the grace period of subscriptions whose renewal is not paid.

        ``notice`` is the email the customer is owed: "to_renew" when there
        was no card to charge, "declined" when the card was declined.
        """
        by_deadline = self.filtered(
            lambda o: o.subscription_state == "in_progress"
        ).grouped(
            lambda o: o.next_invoice_date
            + timedelta(days=o.subscription_plan_id.grace_period_days)
        )
        for deadline, orders in by_deadline.items():
            orders._subscription_write_tracked(
                {
                    "subscription_state": "to_renew",
                    "renewal_deadline": deadline,
                    "subscription_checked_date": today,
                    "subscription_notice": notice,
                }
            )
        if by_deadline:
            self._subscription_trigger_notices()
        return self.browse().union(*by_deadline.values())

    def _subscription_period_paid(self, invoices):
        """Move subscriptions on once the invoice of their open period is paid.

        The customer's receipt is queued with the move: recording a payment
        never waits for, nor fails with, the rendering of an email. Return the
        subscriptions moved on.
        """
        period_ends = {
            (move.subscription_id, move.subscription_period_start): (
                move.subscription_period_end
            )
            for move in invoices
            if move._subscription_is_paid() or move.amount_residual <= 0
        }
        paid = self.filtered(
            lambda order: order.subscription_state in ("in_progress", "to_renew")
            and (order, order.next_invoice_date) in period_ends
        )
        restored = paid.filtered(lambda order: order.subscription_state == "to_renew")
        by_next_date = paid.grouped(
            lambda o: period_ends[o, o.next_invoice_date] + timedelta(days=1)
        )
        for next_date, orders in by_next_date.items():
            orders._subscription_write_tracked(
                {
                    "subscription_state": "in_progress",
                    "next_invoice_date": next_date,
                    "renewal_deadline": False,
                    "subscription_notice": "paid",
                    "subscription_charge_to_check": False,
                }
            )
        restored.hosted_database_ids._restore_access()
        if paid:
            self._subscription_trigger_notices()
        return paid

    def _subscription_period_invoices(self):
        """The invoices of the subscriptions' open periods."""
        invoices = (
            self.env["account.move"]
            .sudo()
            .search(
                [
                    ("subscription_id", "in", self.ids),
                    ("state", "!=", "cancel"),
                    (
                        "subscription_period_start",
                        "in",
                        list(set(self.mapped("next_invoice_date"))),
                    ),
                ]
            )
        )
        periods = {(order, order.next_invoice_date) for order in self}
        return invoices.filtered(
            lambda move: (move.subscription_id, move.subscription_period_start)
            in periods
        )

    # ------------------------------------------------------------
    # Charging now: Change Payment Method, Create Invoice
    # ------------------------------------------------------------

    def _subscription_set_payment_token(self, token):
        """Make ``token`` pay this subscription (Change Payment Method).

        A subscription waiting for its renewal is charged at once; return
        whether its open period is paid (True when there was nothing to pay).
        """
        self.ensure_one()
        if not self._subscription_can_pay_with(token):
            raise self._subscription_token_error(token)
        self._subscription_lock(wait=True)
        self.payment_token_id = token
        if self.subscription_state != "to_renew":
            return True
        return bool(self._subscription_charge_open_period())

    def _subscription_charge_open_period(self):
        """Bill and charge the open periods now; return the subscriptions paid."""
        today = fields.Date.context_today(self)
        engine = self.with_context(subscription_renewal=True)
        transactions = engine._renewal_charge(engine._renewal_bill())
        transactions._renewal_send()
        transactions._renewal_post_process()
        return engine._renewal_outcome(transactions, today).filtered(
            lambda o: o.subscription_state == "in_progress"
        )

    def _subscription_bill_open_period(self):
        """Bill the open period of these subscriptions, once (Create Invoice)."""
        return self.with_context(subscription_renewal=True)._renewal_bill()

    # ------------------------------------------------------------
    # Tooling
    # ------------------------------------------------------------

    def _subscription_lock(self, wait=False):
        """Lock the subscriptions' rows; return those this transaction holds.

        The renewal engine skips rows another transaction holds (a portal
        payment, another worker); a portal payment waits for the engine.
        """
        if not self:
            return self
        # Row locks have no ORM API.
        self.env.cr.execute(
            SQL(
                "SELECT id FROM sale_order WHERE id = ANY(%s) FOR NO KEY UPDATE %s",
                self.ids,
                SQL("") if wait else SQL("SKIP LOCKED"),
            )
        )
        return self.browse(row[0] for row in self.env.cr.fetchall())

    def _subscription_write_tracked(self, values):
        """Write ``values``, tracked as core tracks them.

        Core logs one tracking message per record, each with its own queries;
        the engine moves thousands of subscriptions per run. Under the engine's
        context key the messages of the records whose change has no subtype
        (a plain note, as core logs it) are made in one create, with the values
        core's ``_message_log_batch`` gives them; the others, and every other
        caller, get core's own tracking.
        """
        if not self.env.context.get("subscription_renewal"):
            return self.write(values)
        tracked_names = [
            name for name in values if getattr(self._fields[name], "tracking", False)
        ]
        if not tracked_names or self.env.context.get("mail_notrack"):
            return self.write(values)
        if self.env.context.get("tracking_disable"):
            return self.write(values)
        initial_values = {
            order.id: {name: order[name] for name in tracked_names} for order in self
        }
        self.with_context(mail_notrack=True).write(values)
        tracked_fields = self.fields_get(
            tracked_names, attributes=("string", "type", "selection", "currency_field")
        )
        logged, messages = self.browse(), []
        for order in self:
            changes, commands = order._mail_track(
                tracked_fields, initial_values[order.id]
            )
            if not changes:
                continue
            subtype = order._track_subtype(
                {name: initial_values[order.id][name] for name in changes}
            )
            if subtype:
                order.sudo().message_post(
                    subtype_id=subtype.id, tracking_value_ids=commands
                )
            else:
                logged |= order
                messages.append(commands)
        if logged:
            values_list = logged._message_log_batch_values()
            for message_values, commands in zip(values_list, messages, strict=True):
                message_values["tracking_value_ids"] = commands
            logged.sudo()._message_create(values_list)
        return True

    def _message_log_batch_values(self):
        """The values core's ``_message_log_batch`` gives each record's note."""
        author_id, email_from = self._message_compute_author(raise_on_email=False)
        reply_to = self.env["mail.thread"]._notify_get_reply_to(default=email_from)
        base = {
            "author_id": author_id,
            "email_from": email_from,
            "model": self._name,
            "record_alias_domain_id": False,
            "record_company_id": False,
            "record_name": False,
            "attachment_ids": False,
            "message_type": "notification",
            "is_internal": True,
            "subject": False,
            "subtype_id": self.env["ir.model.data"]._xmlid_to_res_id("mail.mt_note"),
            "email_add_signature": False,
            "partner_ids": False,
            "reply_to": reply_to[False],
            "body": "",
        }
        return [
            dict(
                base,
                res_id=record.id,
                message_id=generate_tracking_message_id("message-notify"),
            )
            for record in self
        ]

    @api.model
    def _subscription_max_charge_attempts(self):
        return self._subscription_int_param(MAX_ATTEMPTS_PARAM, DEFAULT_MAX_ATTEMPTS)

    @api.model
    def _subscription_int_param(self, key, default):
        value = self.env["ir.config_parameter"].sudo().get_param(key, default)
        try:
            return max(int(value), 0)
        except (TypeError, ValueError):
            return default

    # ------------------------------------------------------------
    # Notices
    # ------------------------------------------------------------

    @api.model
    def _renewal_warn_card_expiry(self, today):
        """Warn customers whose card expires before their next renewal."""
        days = self._subscription_int_param(
            EXPIRY_WARNING_PARAM, DEFAULT_EXPIRY_WARNING_DAYS
        )
        orders = self.search(
            [
                ("is_subscription", "=", True),
                ("subscription_state", "=", "in_progress"),
                ("next_invoice_date", "<=", today + timedelta(days=days)),
                ("next_invoice_date", ">", today),
                ("payment_token_id.expiry_date", "!=", False),
            ]
        ).filtered(
            lambda o: o.payment_token_expires_before_renewal
            and o.subscription_expiry_warned_date != o.next_invoice_date
            # A customer's closing ends it on that date: no renewal to pay.
            and not (
                o.subscription_end_date
                and o.subscription_end_date <= o.next_invoice_date
            )
        )
        # A warning that cannot be sent is logged and tried again the next day;
        # it never holds back the renewals.
        for unit in work_units(orders):
            with unit:
                for next_date, group in unit.records.grouped(
                    "next_invoice_date"
                ).items():
                    group.subscription_expiry_warned_date = next_date
                unit.records._subscription_send_mail(
                    "mail_template_subscription_card_expiring"
                )

    @api.model
    def _renewal_send_renewal_notices(self, today):
        """Tell customers of their coming renewal, its plan's notice days before."""
        max_days = max(
            self.env["subscription.plan"]
            .with_context(active_test=False)
            .search([("renewal_notice_days", ">", 0)])
            .mapped("renewal_notice_days"),
            default=0,
        )
        if not max_days:
            return
        orders = self.search(
            [
                ("is_subscription", "=", True),
                ("state", "=", "sale"),
                ("subscription_state", "=", "in_progress"),
                ("subscription_plan_id.renewal_notice_days", ">", 0),
                ("next_invoice_date", "<=", today + timedelta(days=max_days)),
                ("next_invoice_date", ">", today),
            ]
        ).filtered(
            lambda o: (o.next_invoice_date - today).days
            <= o.subscription_plan_id.renewal_notice_days
            and o.renewal_notice_date != o.next_invoice_date
        )
        # Once per period; a notice that cannot be sent is logged and tried
        # again the next day, and never holds back the renewals.
        for unit in work_units(orders):
            with unit:
                for next_date, group in unit.records.grouped(
                    "next_invoice_date"
                ).items():
                    group.with_context(
                        mail_notrack=True
                    ).renewal_notice_date = next_date
                unit.records._subscription_send_mail(
                    "mail_template_subscription_renewal_notice"
                )

    @api.model
    def _subscription_trigger_notices(self):
        """Have the queued notices sent soon, by their scheduled action."""
        cron = self.env.ref(
            "portal_account.ir_cron_subscription_notices", raise_if_not_found=False
        )
        if cron:
            cron.sudo()._trigger()

    @api.model
    def _cron_subscription_send_notices(self, batch_size=RENEWAL_BATCH_SIZE):
        """Send the notices the renewal engine and the payments queued.

        Only which email a subscription is owed is recorded, in the write that
        moves it on: a state change or a payment never waits for the rendering
        of emails, nor fails with it. A notice that no longer applies (the
        subscription was paid since) is dropped; one that cannot be sent stays
        queued, is logged, and does not hold back the others.
        """
        engine = engine_env(self)
        batches = Batches(engine, [("subscription_notice", "!=", False)], batch_size)
        for batch in batches:
            batches.mark_done(batch._subscription_send_notices())
        return batches.notify_progress()

    def _subscription_send_notices(self):
        """Send the notices of these subscriptions; return those done with.

        Rows another transaction holds (the engine moving them on) are left
        to the next run, with their notice as it will then be.
        """
        sent = self.browse()
        for unit in work_units(self):
            with unit:
                orders = unit.records._subscription_lock()
                orders.invalidate_recordset(
                    ["subscription_notice", "subscription_state"]
                )
                for notice, (template_xmlid, state) in SUBSCRIPTION_NOTICES.items():
                    orders.filtered(
                        lambda o, notice=notice, state=state: o.subscription_notice
                        == notice
                        and o.subscription_state == state
                    )._subscription_send_mail(template_xmlid)
                orders.with_context(mail_notrack=True).subscription_notice = False
            if not unit.failed:
                sent |= orders
        return sent

    def _subscription_send_mail(self, template_xmlid):
        """Queue the customer email ``template_xmlid`` for these subscriptions."""
        if not self:
            return
        template = self.env.ref(
            f"portal_account.{template_xmlid}", raise_if_not_found=False
        )
        if template:
            template.sudo().send_mail_batch(self.ids)
