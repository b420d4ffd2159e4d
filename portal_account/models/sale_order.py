# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
import threading
import time
import uuid
from collections import defaultdict
from contextlib import contextmanager
from datetime import timedelta

from psycopg2 import errors as pg_errors

from odoo import Command, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL, create_index, html2plaintext, plaintext2html

_logger = logging.getLogger(__name__)

EXPIRY_WARNING_PARAM = "portal_account.card_expiry_warning_days"
DEFAULT_EXPIRY_WARNING_DAYS = 30
RENEWAL_BATCH_SIZE = 500
RENEWAL_TIME_BUDGET = 240  # seconds of work per call, well below the cron timeout
PAID_STATES = ("paid", "in_payment")
REMINDER_DAYS = (3, 1)
# Renewal notices: email template, and the state in which it still applies.
SUBSCRIPTION_NOTICES = {
    "to_renew": ("mail_template_subscription_to_renew", "to_renew"),
    "reminder": ("mail_template_subscription_reminder", "to_renew"),
    "closed": ("mail_template_subscription_closed", "closed"),
    "paid": ("mail_template_subscription_payment_done", "in_progress"),
}


class SaleOrder(models.Model):
    _inherit = "sale.order"

    commercial_partner_id = fields.Many2one(related="partner_id.commercial_partner_id")
    is_subscription = fields.Boolean(
        compute="_compute_is_subscription",
        store=True,
        index=True,
    )
    subscription_plan_id = fields.Many2one(
        comodel_name="subscription.plan",
        string="Recurring Plan",
        index="btree_not_null",
        tracking=True,
        check_company=True,
    )
    subscription_state = fields.Selection(
        selection=[
            ("draft", "Quotation"),
            ("in_progress", "In Progress"),
            ("to_renew", "To Renew"),
            ("paused", "Paused"),
            ("closed", "Closed"),
        ],
        string="Subscription Status",
        compute="_compute_subscription_state",
        store=True,
        readonly=False,
        index="btree_not_null",
        tracking=True,
        copy=False,
    )
    subscription_start_date = fields.Date(
        string="Start Date", tracking=True, copy=False
    )
    next_invoice_date = fields.Date(tracking=True, copy=False, index="btree_not_null")
    renewal_deadline = fields.Date(
        tracking=True,
        copy=False,
        readonly=True,
        help="Last day of the grace period: after it the subscription closes.",
    )
    renewal_days_left = fields.Integer(compute="_compute_renewal_days_left")
    payment_token_id = fields.Many2one(
        comodel_name="payment.token",
        string="Payment Method",
        domain="[('partner_id', 'child_of', commercial_partner_id)]",
        tracking=True,
        copy=False,
        index="btree_not_null",
    )
    close_reason = fields.Selection(
        selection=[
            ("unpaid", "Unpaid"),
            ("manual", "Closed by the company"),
            ("customer", "Closed by the customer"),
        ],
        tracking=True,
        copy=False,
    )
    close_reason_id = fields.Many2one(
        comodel_name="subscription.close.reason",
        string="Customer's Reason",
        tracking=True,
        copy=False,
        index="btree_not_null",
        help="Why the customer closed the subscription.",
    )
    close_comment = fields.Text(copy=False)
    subscription_end_date = fields.Date(
        string="End Date",
        tracking=True,
        copy=False,
        index="btree_not_null",
        help="The subscription closes on that day; no period starting on or after "
        "it is billed.",
    )
    subscription_close_date = fields.Date(
        string="Closed On",
        copy=False,
        readonly=True,
        help="The day the subscription was closed.",
    )
    subscription_paused_date = fields.Date(
        string="Paused Since",
        tracking=True,
        copy=False,
        readonly=True,
    )
    subscription_resume_date = fields.Date(
        string="Resume Date",
        tracking=True,
        copy=False,
        help="The day a paused subscription resumes by itself; empty: resumed by "
        "hand.",
    )
    hosted_database_ids = fields.One2many(
        comodel_name="hosted.database",
        inverse_name="subscription_id",
        string="Hosted Databases",
    )
    subscription_invoice_ids = fields.One2many(
        comodel_name="account.move",
        inverse_name="subscription_id",
        string="Subscription Invoices",
    )
    subscription_invoice_count = fields.Integer(
        compute="_compute_subscription_invoice_count"
    )
    hosted_database_count = fields.Integer(compute="_compute_hosted_database_count")
    origin_subscription_id = fields.Many2one(
        comodel_name="sale.order",
        string="From Subscription",
        index="btree_not_null",
        copy=False,
        help="The subscription this upsell or renewal quotation changes.",
    )
    subscription_quote_type = fields.Selection(
        selection=[("upsell", "Upsell"), ("renewal", "Renewal")],
        string="Quotation Type",
        copy=False,
    )
    subscription_quote_ids = fields.One2many(
        comodel_name="sale.order",
        inverse_name="origin_subscription_id",
        string="Upsell and Renewal Quotations",
    )
    subscription_quote_count = fields.Integer(
        compute="_compute_subscription_quote_count"
    )
    ticket_ids = fields.One2many(
        comodel_name="helpdesk.ticket",
        inverse_name="subscription_id",
        string="Tickets",
    )
    changes_requested = fields.Boolean(tracking=True, copy=False)
    subscription_checked_date = fields.Date(
        copy=False,
        readonly=True,
        help="Technical: last day the renewal engine handled this subscription.",
    )
    subscription_expiry_warned_date = fields.Date(
        copy=False,
        readonly=True,
        help="Technical: the renewal date for which the card expiry warning was sent.",
    )
    subscription_notice = fields.Selection(
        selection=[
            ("to_renew", "Renewal to fix"),
            ("reminder", "Grace period reminder"),
            ("closed", "Closed"),
            ("paid", "Payment received"),
        ],
        copy=False,
        readonly=True,
        index="btree_not_null",
        help="Technical: the customer email waiting to be sent by the scheduled "
        "action 'Subscriptions: renewal notices'.",
    )

    def init(self):
        res = super().init()
        # The next renewal on a customer's /my: the first running subscription in
        # (date, id) order is read from the index and checked against the portal
        # record rule, instead of sorting all of a large customer's subscriptions.
        create_index(
            self.env.cr,
            indexname="sale_order_in_progress_next_invoice_date_idx",
            tablename="sale_order",
            expressions=["next_invoice_date", "id"],
            where="subscription_state = 'in_progress'",
        )
        return res

    # ------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------

    @api.depends("subscription_plan_id", "origin_subscription_id")
    def _compute_is_subscription(self):
        for order in self:
            order.is_subscription = bool(
                order.subscription_plan_id and not order.origin_subscription_id
            )

    @api.depends("is_subscription")
    def _compute_subscription_state(self):
        for order in self:
            if not order.is_subscription:
                order.subscription_state = False
            elif not order.subscription_state:
                order.subscription_state = "draft"

    @api.depends("renewal_deadline", "subscription_state")
    @api.depends_context("date")
    def _compute_renewal_days_left(self):
        today = fields.Date.context_today(self)
        for order in self:
            if order.subscription_state == "to_renew" and order.renewal_deadline:
                order.renewal_days_left = max((order.renewal_deadline - today).days, 0)
            else:
                order.renewal_days_left = 0

    def _compute_subscription_invoice_count(self):
        counts = self._count_by_subscription("account.move", "subscription_id")
        for order in self:
            order.subscription_invoice_count = counts.get(order, 0)

    def _compute_hosted_database_count(self):
        counts = self._count_by_subscription("hosted.database", "subscription_id")
        for order in self:
            order.hosted_database_count = counts.get(order, 0)

    def _compute_subscription_quote_count(self):
        counts = self._count_by_subscription("sale.order", "origin_subscription_id")
        for order in self:
            order.subscription_quote_count = counts.get(order, 0)

    def _count_by_subscription(self, model_name, field_name):
        """Count the ``model_name`` records linking each order by ``field_name``."""
        return dict(
            self.env[model_name]._read_group(
                [(field_name, "in", self.ids)], [field_name], ["__count"]
            )
        )

    def _compute_access_url(self):
        res = super()._compute_access_url()
        for order in self:
            if order.is_subscription and order.state == "sale":
                order.access_url = f"/my/subscriptions/{order.id}"
        return res

    # ------------------------------------------------------------
    # Constraints
    # ------------------------------------------------------------

    @api.constrains("payment_token_id", "partner_id")
    def _check_payment_token_partner(self):
        for order in self.filtered("payment_token_id"):
            token_partner = order.payment_token_id.partner_id.commercial_partner_id
            if token_partner != order.partner_id.commercial_partner_id:
                raise ValidationError(
                    self.env._(
                        "The payment method %(token)s belongs to %(owner)s: it cannot "
                        "pay the subscription %(subscription)s of %(customer)s.",
                        token=order.payment_token_id.display_name,
                        owner=token_partner.display_name,
                        subscription=order.name,
                        customer=order.partner_id.commercial_partner_id.display_name,
                    )
                )

    @api.constrains("subscription_plan_id", "order_line")
    def _check_subscription_lines(self):
        for order in self.filtered("is_subscription"):
            if order.state == "sale" and not order.order_line.filtered(
                lambda line: line._is_subscription_recurring()
            ):
                raise ValidationError(
                    self.env._(
                        "The subscription %(subscription)s has nothing to bill: add "
                        "at least one application or user.",
                        subscription=order.name,
                    )
                )

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------

    def _action_confirm(self):
        res = super()._action_confirm()
        self.filtered(
            lambda order: order.is_subscription
            and order.subscription_state in (False, "draft")
        )._subscription_start()
        self.filtered("origin_subscription_id")._subscription_apply_quote()
        self.order_line._success_pack_apply()
        return res

    def _prepare_invoice(self):
        values = super()._prepare_invoice()
        if self.is_subscription:
            values["subscription_id"] = self.id
        return values

    # ------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------

    def action_subscription_close(self):
        """Close the subscriptions by hand and suspend their databases."""
        self._subscription_close("manual")

    def action_subscription_reopen(self):
        """Reopen closed subscriptions and give their databases access back."""
        closed = self.filtered(lambda order: order.subscription_state == "closed")
        closed.write(
            {
                "subscription_state": "in_progress",
                "close_reason": False,
                "close_reason_id": False,
                "close_comment": False,
                "subscription_end_date": False,
                "subscription_close_date": False,
                "renewal_deadline": False,
                "subscription_checked_date": False,
            }
        )
        closed.hosted_database_ids._restore_access()

    def action_subscription_pause(self, resume_date=None):
        """Pause running subscriptions from today, until ``resume_date`` if given.

        Nothing is billed and no grace period runs while paused; the databases
        are suspended, since the days of the pause are given back on resuming.
        """
        today = fields.Date.context_today(self)
        resume_date = fields.Date.to_date(resume_date) if resume_date else False
        if resume_date and resume_date <= today:
            raise UserError(self.env._("The resume date must be after today."))
        not_running = self.filtered(
            lambda order: order.subscription_state != "in_progress"
        )
        if not_running:
            raise UserError(
                self.env._(
                    "Only running subscriptions can be paused: %s.",
                    ", ".join(not_running.mapped("name")),
                )
            )
        self.write(
            {
                "subscription_state": "paused",
                "subscription_paused_date": today,
                "subscription_resume_date": resume_date,
            }
        )
        self.hosted_database_ids._suspend_access()
        return True

    def action_subscription_resume(self):
        """Resume paused subscriptions; the next invoice moves on by the pause."""
        today = fields.Date.context_today(self)
        paused = self.filtered(lambda order: order.subscription_state == "paused")
        for order in paused:
            paused_days = (today - (order.subscription_paused_date or today)).days
            values = {
                "subscription_state": "in_progress",
                "subscription_paused_date": False,
                "subscription_resume_date": False,
            }
            if order.next_invoice_date and paused_days > 0:
                values["next_invoice_date"] = order.next_invoice_date + timedelta(
                    days=paused_days
                )
            order.write(values)
            order.message_post(
                body=self.env._(
                    "Resumed after a pause of %(days)s day(s).", days=paused_days
                ),
                subtype_xmlid="mail.mt_note",
            )
        paused.hosted_database_ids._restore_access()
        return True

    def action_subscription_open_pause_wizard(self):
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Pause Subscription"),
            "res_model": "subscription.pause.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_order_ids": self.ids},
        }

    def action_subscription_new_quotation(self, quote_type="upsell"):
        """Open a new upsell (or renewal) quotation for this subscription."""
        self.ensure_one()
        if quote_type not in ("upsell", "renewal"):
            raise UserError(self.env._("Unknown quotation type %s.", quote_type))
        quote = self._subscription_new_quote(
            quote_type, self._subscription_quote_lines(quote_type)
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": "sale.order",
            "res_id": quote.id,
            "view_mode": "form",
            "target": "current",
        }

    def action_subscription_new_renewal(self):
        return self.action_subscription_new_quotation("renewal")

    def action_view_subscription_invoices(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "account.action_move_out_invoice_type"
        )
        action["domain"] = [("subscription_id", "=", self.id)]
        action["context"] = {"default_move_type": "out_invoice", "create": False}
        return action

    # ------------------------------------------------------------
    # Business methods: life cycle
    # ------------------------------------------------------------

    def _subscription_start(self):
        """Start confirmed subscriptions.

        When the customer already paid the first period online (Accept & Pay),
        the first renewal is one period later and the card they saved pays it.
        The portal access token that the renewal emails link with is set here,
        once, rather than one write per subscription in the nightly run.
        """
        today = fields.Date.context_today(self)
        for order in self:
            start = order.subscription_start_date or today
            values = {
                "subscription_state": "in_progress",
                "subscription_start_date": start,
                "next_invoice_date": start,
            }
            transactions = order.sudo().transaction_ids.filtered(
                lambda tx: tx.state == "done" and tx.operation != "validation"
            )
            if transactions:
                values["next_invoice_date"] = (
                    start + order.subscription_plan_id._get_billing_period()
                )
            token = transactions.token_id[-1:] or order.payment_token_id
            if token and not order.payment_token_id:
                values["payment_token_id"] = token.id
            if not order.access_token:
                values["access_token"] = str(uuid.uuid4())
            order.write(values)

    def _subscription_new_quote(self, quote_type, order_lines, **values):
        """A new upsell or renewal quotation of this subscription."""
        self.ensure_one()
        return self.copy(
            {
                "origin_subscription_id": self.id,
                "subscription_quote_type": quote_type,
                "subscription_plan_id": self.subscription_plan_id.id,
                "order_line": order_lines,
                "require_payment": False,
                "require_signature": True,
                "client_order_ref": self.name,
                **values,
            }
        )

    def _subscription_quote_lines(self, quote_type):
        if quote_type == "upsell":
            return []
        return [
            Command.create(line._prepare_subscription_quote_line())
            for line in self.order_line
            if line._is_subscription_recurring()
        ]

    def _subscription_apply_quote(self):
        """Apply confirmed upsell and renewal quotations to their subscription.

        The subscription bills its lines every period, so the change is billed
        from the next period on.
        """
        for quote in self:
            subscription = quote.origin_subscription_id.sudo()
            current = {
                line.product_id: line
                for line in subscription.order_line
                if line._is_subscription_recurring()
            }
            new_lines = []
            seen = self.env["sale.order.line"]
            for line in quote.order_line.filtered(
                lambda quote_line: quote_line._is_subscription_recurring()
            ):
                existing = current.get(line.product_id)
                if existing and quote.subscription_quote_type == "upsell":
                    # The upsell's price is the rest of a period's: the line
                    # keeps its price per period.
                    existing.write(
                        {
                            "product_uom_qty": existing.product_uom_qty
                            + line.product_uom_qty,
                            "subscription_qty_removed": 0,
                        }
                    )
                    seen |= existing
                elif existing:
                    existing.write(
                        {
                            "product_uom_qty": line.product_uom_qty,
                            "price_unit": line.price_unit,
                        }
                    )
                    seen |= existing
                else:
                    line_values = line._prepare_subscription_quote_line()
                    if quote.subscription_quote_type == "upsell":
                        line_values["price_unit"] = line._subscription_period_price()
                    new_lines.append(Command.create(line_values))
            if quote.subscription_quote_type == "renewal":
                (subscription.order_line - seen).filtered(
                    lambda old: old._is_subscription_recurring()
                ).product_uom_qty = 0
            if new_lines:
                subscription.order_line = new_lines
            subscription.message_post(
                body=self.env._(
                    "Quotation %(quote)s confirmed: the new lines are billed from "
                    "the next period on.",
                    quote=quote._get_html_link(),
                )
            )
            if quote.subscription_quote_type == "renewal":
                subscription.action_subscription_reopen()

    # ------------------------------------------------------------
    # Business methods: customer self-service
    # ------------------------------------------------------------

    def _subscription_can_close(self):
        """Whether the customer may close the subscription from the portal."""
        self.ensure_one()
        return bool(
            self.subscription_plan_id.user_closable
            and self.subscription_state in ("in_progress", "to_renew")
            and not self.subscription_end_date
        )

    def _subscription_close_end_date(self):
        """The day access ends when the customer closes now: the paid period's end.

        A subscription whose renewal is due or unpaid has no paid period left:
        it closes at once (today).
        """
        self.ensure_one()
        today = fields.Date.context_today(self)
        if self.subscription_state != "in_progress" or not self.next_invoice_date:
            return today
        return max(self.next_invoice_date, today)

    def _subscription_request_close(self, reason, comment=None, author=None):
        """Close at the end of the paid period, at the customer's request.

        Return False when there is nothing to do: the same request posted
        again, or a subscription that cannot be closed from the portal.
        """
        self.ensure_one()
        self._subscription_lock(wait=True)
        self.invalidate_recordset()
        if not self._subscription_can_close():
            return False
        if reason.company_id and reason.company_id != self.company_id:
            raise UserError(self.env._("This reason cannot be chosen."))
        end_date = self._subscription_close_end_date()
        self.write(
            {
                "subscription_end_date": end_date,
                "close_reason_id": reason.id,
                "close_comment": (comment or "").strip() or False,
            }
        )
        self._message_log(
            body=self.env._(
                "Closing requested by %(author)s: %(reason)s",
                author=(author or self.partner_id).name,
                reason=reason.name,
            ),
            author_id=(author or self.partner_id).id,
        )
        if end_date <= fields.Date.context_today(self):
            self._subscription_close("customer")
        else:
            self._subscription_send_mail("mail_template_subscription_closing")
        return True

    def _subscription_undo_close(self, author=None):
        """Cancel the customer's closing; return False when none is pending."""
        self.ensure_one()
        self._subscription_lock(wait=True)
        self.invalidate_recordset()
        if not self.subscription_end_date or self.subscription_state not in (
            "in_progress",
            "to_renew",
        ):
            return False
        self.write(
            {
                "subscription_end_date": False,
                "close_reason_id": False,
                "close_comment": False,
            }
        )
        self._message_log(
            body=self.env._(
                "Closing cancelled by %(author)s.",
                author=(author or self.partner_id).name,
            ),
            author_id=(author or self.partner_id).id,
        )
        return True

    def _subscription_prorate_days(self, day=None):
        """(days left, days in period) of the paid period running on ``day``.

        The period runs from one period before ``next_invoice_date`` to the day
        before it; ``day`` counts as a day left.
        """
        self.ensure_one()
        if not (self.next_invoice_date and self.subscription_plan_id):
            return 1, 1
        day = day or fields.Date.context_today(self)
        end = self.next_invoice_date
        period_days = (
            end - (end - self.subscription_plan_id._get_billing_period())
        ).days
        return min(max((end - day).days, 0), period_days), period_days

    def _subscription_prorate(self, amount, day=None):
        """``amount`` for a full period, for the rest of the running one.

        Prorated by days and rounded by the currency.
        """
        days_left, period_days = self._subscription_prorate_days(day)
        return self.currency_id.round(amount * days_left / period_days)

    def _subscription_period_unit_price(self, product):
        """The price per period of ``product`` on this subscription."""
        return self._subscription_period_unit_prices(product)[product]

    def _subscription_period_unit_prices(self, products):
        """The price per period of each of ``products`` on this subscription.

        The subscription's own line's price when it has the product, else the
        subscription's pricelist price (read for all of them at once).
        """
        self.ensure_one()
        prices = {}
        for line in self.order_line:
            if line.product_id in products and line._is_subscription_recurring():
                prices.setdefault(
                    line.product_id,
                    line.price_unit * (1 - (line.discount or 0.0) / 100),
                )
        others = products.filtered(lambda product: product not in prices)
        if others and self.pricelist_id:
            pricelist_prices = self.pricelist_id._get_products_price(
                others, 1.0, currency=self.currency_id
            )
            prices.update((product, pricelist_prices[product.id]) for product in others)
        else:
            prices.update((product, product.lst_price) for product in others)
        return prices

    def _subscription_change_products(self):
        """The products the customer may change: the subscription's, then the plan's."""
        self.ensure_one()
        own = self.order_line.filtered(
            lambda line: not line.display_type
            and not line.is_downpayment
            and line.product_id.success_pack_hours <= 0
            and (line.product_uom_qty > 0)
        ).product_id
        upsell = self.subscription_plan_id.upsell_product_ids.filtered(
            lambda product: product.sale_ok
            and product.company_id in (self.company_id, self.env["res.company"])
        )
        return own | (upsell - own)

    def _subscription_can_change(self):
        """Whether the customer may add or remove seats from the portal now.

        Only while the period is paid and running: a renewal due today is
        billed with the lines as they are.
        """
        self.ensure_one()
        return bool(
            self.subscription_state == "in_progress"
            and self.next_invoice_date
            and self.next_invoice_date > fields.Date.context_today(self)
        )

    def _subscription_prepare_change(self, quantities):
        """The rows of the change page for the new ``quantities`` {product: qty}.

        Each row: the product, its line, its quantity now and from the next
        period, the pending quantity, the price per period and the prorated
        price of a seat added today; and the amounts due now and per period.
        """
        self.ensure_one()
        rows = []
        due_now = recurring = 0.0
        products = self._subscription_change_products()
        period_prices = self._subscription_period_unit_prices(products)
        for product in products:
            line = self.order_line.filtered(
                lambda line, product=product: line.product_id == product
                and line._is_subscription_recurring()
            )[:1]
            quantity = int(line.product_uom_qty) if line else 0
            new_quantity = quantities.get(product, None)
            pending = (
                int(line.product_uom_qty - line.subscription_qty_removed)
                if line and line.subscription_qty_removed
                else None
            )
            if new_quantity is None:
                new_quantity = quantity if pending is None else pending
            period_price = period_prices[product]
            prorated_price = self._subscription_prorate(period_price)
            added = max(new_quantity - quantity, 0)
            due_now += added * prorated_price
            recurring += new_quantity * period_price
            rows.append(
                {
                    "product": product,
                    "line": line,
                    "quantity": quantity,
                    "new_quantity": new_quantity,
                    "pending": pending,
                    "added": added,
                    "period_price": period_price,
                    "prorated_price": prorated_price,
                }
            )
        days_left, period_days = self._subscription_prorate_days()
        return {
            "rows": rows,
            "due_now": self.currency_id.round(due_now),
            "recurring": self.currency_id.round(recurring),
            "days_left": days_left,
            "period_days": period_days,
        }

    def _subscription_apply_change(self, quantities):
        """Apply the customer's new ``quantities`` {product: qty}.

        Fewer seats are recorded for the next renewal; more seats or new
        products make a prorated upsell quotation, returned (the open one
        already asking the same, when the form is posted again).
        """
        self.ensure_one()
        self._subscription_lock(wait=True)
        self.invalidate_recordset()
        if not self._subscription_can_change():
            raise UserError(self.env._("This subscription cannot be changed now."))
        allowed = self._subscription_change_products()
        if any(product not in allowed for product in quantities):
            raise UserError(self.env._("This product cannot be added here."))
        change = self._subscription_prepare_change(quantities)
        if not any(row["new_quantity"] for row in change["rows"]):
            raise UserError(
                self.env._("A subscription needs one application or user at least.")
            )
        for row in change["rows"]:
            line = row["line"]
            if not line or row["product"] not in quantities:
                continue
            removed = max(row["quantity"] - row["new_quantity"], 0)
            if line.subscription_qty_removed != removed:
                line.subscription_qty_removed = removed
        added = {row["product"]: row["added"] for row in change["rows"] if row["added"]}
        if not added:
            return self.env["sale.order"]
        return self._subscription_upsell_quote(added)

    def _subscription_upsell_quote(self, added):
        """The open upsell quotation adding ``added`` {product: qty}, made if new."""
        self.ensure_one()
        open_quotes = self.env["sale.order"].search(
            [
                ("origin_subscription_id", "=", self.id),
                ("subscription_quote_type", "=", "upsell"),
                ("state", "in", ("draft", "sent")),
            ]
        )
        wanted = {(product.id, float(qty)) for product, qty in added.items()}
        for quote in open_quotes:
            asked = {
                (line.product_id.id, line.product_uom_qty)
                for line in quote.order_line
                if not line.display_type
            }
            if asked == wanted:
                return quote
        lines = []
        for product, quantity in added.items():
            lines.append(
                Command.create({"product_id": product.id, "product_uom_qty": quantity})
            )
        quote = self._subscription_new_quote(
            "upsell",
            lines,
            require_payment=True,
            require_signature=False,
            prepayment_percent=1.0,
        )
        quote.action_quotation_sent()
        quote._portal_ensure_token()
        return quote

    @api.model
    def _subscription_run_lifecycle(self, today):
        """The day's life-cycle changes, made before the renewals are billed.

        Paused subscriptions whose resume date came resume; those the customer
        closed close on their end date, so that no period starting on or after
        it is billed; the seats removed by customers leave the periods about to
        be billed.
        """
        self.search(
            [
                ("subscription_state", "=", "paused"),
                ("subscription_resume_date", "<=", today),
            ]
        ).action_subscription_resume()
        self.search(
            [
                ("subscription_state", "in", ("in_progress", "to_renew")),
                ("subscription_end_date", "<=", today),
            ]
        )._subscription_close("customer")
        self.search(
            [
                ("subscription_state", "=", "in_progress"),
                ("next_invoice_date", "<=", today),
                ("order_line.subscription_qty_removed", ">", 0),
            ]
        )._subscription_apply_removed_seats()

    def _subscription_apply_removed_seats(self):
        """Apply the seats the customers removed, before their next period is billed."""
        lines = self.order_line.filtered("subscription_qty_removed")
        for line in lines:
            line.write(
                {
                    "product_uom_qty": max(
                        line.product_uom_qty - line.subscription_qty_removed, 0
                    ),
                    "subscription_qty_removed": 0,
                }
            )
        return lines

    def _subscription_close(self, reason):
        to_close = self.filtered(
            lambda order: order.subscription_state
            in ("in_progress", "to_renew", "paused")
        )
        if not to_close:
            return to_close
        to_close._subscription_write_tracked(
            {
                "subscription_state": "closed",
                "close_reason": reason,
                "renewal_deadline": False,
                "subscription_notice": "closed",
                "subscription_close_date": fields.Date.context_today(self),
                "subscription_paused_date": False,
                "subscription_resume_date": False,
            }
        )
        to_close.hosted_database_ids._suspend_access()
        self._subscription_trigger_notices()
        return to_close

    def _subscription_set_to_renew(self, today):
        """Open the grace period of subscriptions whose renewal is not paid."""
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
                    "subscription_notice": "to_renew",
                }
            )
        if by_deadline:
            self._subscription_trigger_notices()
        return self.browse().union(*by_deadline.values())

    def _subscription_write_tracked(self, values):
        """Write ``values`` and log the tracked changes in one batch.

        Same chatter entries as the ORM's tracking, which logs one message at a
        time: the engine moves thousands of subscriptions per run.
        """
        tracked_names = [
            name for name in values if getattr(self._fields[name], "tracking", False)
        ]
        initial_values = {
            order.id: {name: order[name] for name in tracked_names} for order in self
        }
        self.with_context(mail_notrack=True).write(values)
        if (
            not tracked_names
            or self.env.context.get("tracking_disable")
            or (self.env.context.get("mail_notrack"))
        ):
            return
        tracked_fields = self.fields_get(
            tracked_names, attributes=("string", "type", "selection", "currency_field")
        )
        author = self.env.user.partner_id
        note_subtype_id = self.env["ir.model.data"]._xmlid_to_res_id("mail.mt_note")
        changed_ids, tracking_values = [], []
        for order in self:
            __, commands = order._mail_track(tracked_fields, initial_values[order.id])
            if commands:
                changed_ids.append(order.id)
                tracking_values.append([values for __, __, values in commands])
        changed = self.browse(changed_ids)
        record_names = dict(
            zip(changed.ids, changed.mapped("display_name"), strict=True)
        )
        messages = (
            self.env["mail.message"]
            .sudo()
            .create(
                [
                    {
                        "model": self._name,
                        "res_id": order.id,
                        "message_type": "notification",
                        "subtype_id": note_subtype_id,
                        "author_id": author.id,
                        "email_from": author.email_formatted,
                        "reply_to": author.email_formatted,
                        "record_name": record_names[order.id],
                        "body": "",
                    }
                    for order in changed
                ]
            )
        )
        self.env["mail.tracking.value"].sudo().create(
            [
                dict(values, mail_message_id=message.id)
                for message, values_list in zip(messages, tracking_values, strict=True)
                for values in values_list
            ]
        )

    def _subscription_period_paid(self, invoices):
        """Move subscriptions on once the invoice of their open period is paid.

        The customer's receipt is queued with the move, like the grace period
        notices: recording a payment never waits for, nor fails with, the
        rendering of an email. Return the subscriptions moved on.
        """
        period_ends = {
            (move.subscription_id, move.subscription_period_start): (
                move.subscription_period_end
            )
            for move in invoices
            if move.payment_state in PAID_STATES
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
                }
            )
        restored.hosted_database_ids._restore_access()
        if paid:
            self._subscription_trigger_notices()
        return paid

    # ------------------------------------------------------------
    # Business methods: billing and charging
    # ------------------------------------------------------------

    def _subscription_bill_periods(self):
        """Return the invoices of the open periods, the missing ones made at once.

        One create and one post for a whole batch cost a fraction of one per
        subscription.
        """
        invoices = self._subscription_period_invoices()
        missing = self - invoices.subscription_id
        if missing:
            invoices |= missing._subscription_create_invoices()
        return invoices

    def _subscription_period_invoices(self):
        """The invoices of the subscriptions' open periods."""
        invoices = self.env["account.move"].search(
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
        periods = {(order, order.next_invoice_date) for order in self}
        return invoices.filtered(
            lambda move: (move.subscription_id, move.subscription_period_start)
            in periods
        )

    def _subscription_create_invoices(self):
        """Create and post the invoice of each subscription's open period."""
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

    def _subscription_charge_open_period(self):
        """Bill and charge the open period with the subscription's token.

        Return True when the period is paid.
        """
        self.ensure_one()
        invoices, transactions = self._subscription_charge_create()
        return bool(self._subscription_charge_settle(invoices, transactions))

    def _subscription_charge_create(self):
        """Bill the open periods and record a charge for each one left to pay.

        Return the invoices of the open periods and the new charges. A period
        that is paid, or whose charge is under way or went through, gets no new
        charge: a period is never charged twice.
        """
        invoices = self._subscription_bill_periods()
        invoices.filtered(lambda move: move.state == "draft").action_post()
        to_pay = invoices.filtered(
            lambda move: move.payment_state not in PAID_STATES
            and move.amount_residual > 0
        )
        Transaction = self.env["payment.transaction"].sudo()
        charged = Transaction.search(
            [
                ("invoice_ids", "in", to_pay.ids),
                ("state", "in", ("draft", "pending", "authorized", "done")),
                ("operation", "!=", "validation"),
            ]
        ).invoice_ids
        values_by_token = defaultdict(list)
        for invoice in to_pay - charged:
            order = invoice.subscription_id
            values_by_token[order.payment_token_id].append(
                order._subscription_charge_values(invoice)
            )
        # Core's check of the token of new transactions reads one token only.
        transactions = Transaction.union(
            *(Transaction.create(values) for values in values_by_token.values())
        )
        return invoices, transactions

    def _subscription_charge_values(self, invoice):
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
        }

    def _subscription_charge_settle(self, invoices, transactions):
        """Send the charges and settle them; return the subscriptions paid.

        The payments of the charges that went through are made, the declined
        ones logged on their subscription, and the subscriptions whose period
        ``invoices`` is paid move on.
        """
        self._subscription_charge_send(transactions)
        self._subscription_charge_post_process(transactions)
        with self._subscription_isolated():
            self._subscription_charge_log_declined(
                transactions.filtered(lambda tx: tx.state in ("error", "cancel"))
            )
            paid = invoices.filtered(
                lambda move: move.payment_state in PAID_STATES
                or move.amount_residual <= 0
            )
            # The paid hook normally moved the subscriptions on already; this
            # covers invoices paid before the hook could see them.
            self._subscription_period_paid(paid)
        return paid.subscription_id

    def _subscription_charge_send(self, transactions):
        """Send each charge to its provider, on its own.

        A charge whose request fails stays in draft, under way: whether the
        provider took the money is unknown, so it is never sent again and the
        provider's notification settles it. The messages core posts on the
        invoices meanwhile are logged together at the end.
        """
        invoice_log = []
        with self._subscription_isolated():
            for transaction in transactions.with_context(
                subscription_invoice_log=invoice_log
            ):
                logged = len(invoice_log)
                try:
                    with self.env.cr.savepoint():
                        transaction._send_payment_request()
                except Exception:
                    # Undone with the savepoint, and so are its messages.
                    del invoice_log[logged:]
                    _logger.exception(
                        "Charge %s of subscription %s failed.",
                        transaction.reference,
                        transaction.invoice_ids.subscription_id.name,
                    )
            transactions._subscription_log_on_invoices(invoice_log)

    def _subscription_charge_post_process(self, transactions):
        """Make the payments of the charges that went through, all at once.

        A charge whose post-processing fails stays done and waiting for it
        (core's scheduled action tries again), its subscription under way
        meanwhile.
        """
        done = transactions.filtered(
            lambda tx: tx.state == "done" and not tx.is_post_processed
        )
        if done:
            self._subscription_in_units(
                done, lambda txs: txs._subscription_post_process()
            )

    def _subscription_charge_log_declined(self, transactions):
        """Tell on each subscription that its charge was declined, and why."""
        bodies = {
            transaction.invoice_ids.subscription_id.id: self.env._(
                "The payment of %(invoice)s with %(token)s failed: %(reason)s",
                invoice=transaction.invoice_ids._get_html_link(),
                token=transaction.token_id.display_name,
                reason=transaction.state_message or transaction.state,
            )
            for transaction in transactions
        }
        self.browse(bodies)._message_log_batch(bodies=bodies)

    def _subscription_set_payment_token(self, token):
        """Make ``token`` pay this subscription (Change Payment Method).

        A subscription waiting for its renewal is charged at once.
        """
        self.ensure_one()
        if not token._is_valid_for_charge():
            raise UserError(
                self.env._(
                    "The payment method %s cannot be charged.", token.display_name
                )
            )
        self._subscription_lock(wait=True)
        self.payment_token_id = token
        if self.subscription_state == "to_renew":
            return self._subscription_charge_open_period()
        return True

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

    # ------------------------------------------------------------
    # Business methods: ask changes
    # ------------------------------------------------------------

    def _action_ask_changes(self, message, author=None):
        """Record the customer's request for changes on a quotation."""
        self.ensure_one()
        message = (message or "").strip()
        if not message:
            raise UserError(self.env._("Please describe the changes you need."))
        author = author or self.partner_id
        body = plaintext2html(message)
        last_message = self.message_ids.filtered(
            lambda msg: msg.message_type == "comment" and msg.author_id == author
        )[:1]
        if (
            self.changes_requested
            and last_message
            and html2plaintext(last_message.body) == html2plaintext(body)
        ):
            # The same form posted again (double click, reload): one request.
            return False
        self.message_post(
            body=body,
            author_id=author.id,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
        summary = self.env._("Changes requested by %s", author.name)
        user = self.user_id or self.env.ref("base.user_admin")
        # One to-do per customer while it is open: further requests reach the
        # salesperson as messages.
        if not self.activity_ids.filtered(
            lambda activity: activity.summary == summary and activity.user_id == user
        ):
            self.activity_schedule(
                "mail.mail_activity_data_todo",
                summary=summary,
                note=body,
                user_id=user.id,
            )
        self.changes_requested = True
        return True

    # ------------------------------------------------------------
    # Renewal engine
    # ------------------------------------------------------------

    @api.model
    def _cron_subscription_renewal(self, batch_size=RENEWAL_BATCH_SIZE):
        """Renew, remind, close: the daily run of the renewal engine.

        Works in batches; each unit of work is committed (outside tests) and
        the progress is reported so that the job runner calls again for the
        rest. The customer emails of a batch are sent right after it, in units
        of their own.
        """
        today = fields.Date.context_today(self)
        self._subscription_cron_env()._subscription_send_expiry_warnings(today)
        return self._subscription_run_batches(
            self._subscription_renewal_domain(today),
            lambda batch: batch._subscription_process_renewals(today),
            batch_size,
            order="next_invoice_date, id",
        )

    @api.model
    def _subscription_cron_env(self):
        """Commit per unit of work in the scheduled action, never in tests."""
        if getattr(threading.current_thread(), "testing", False):
            return self
        return self.with_context(subscription_renewal_commit=True)

    @api.model
    def _subscription_run_batches(self, domain, process, batch_size, order="id"):
        """Call ``process`` on batches of ``domain`` until done or out of time.

        ``process`` returns the subscriptions it is done with; the others are
        left to the next run. The progress is reported so that the job runner
        calls again for the rest. Return how many were done.
        """
        orders = self._subscription_cron_env()
        deadline = time.monotonic() + RENEWAL_TIME_BUDGET
        done, skipped_ids = 0, []
        while time.monotonic() < deadline:
            batch = orders.search(
                domain + [("id", "not in", skipped_ids)], limit=batch_size, order=order
            )
            if not batch:
                break
            processed = process(batch)
            done += len(processed)
            skipped_ids += (batch - processed).ids
        remaining = self.search_count(domain + [("id", "not in", skipped_ids)])
        self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
        return done

    @api.model
    def _subscription_renewal_domain(self, today):
        """Subscriptions the engine has something to do with today."""
        return [
            ("is_subscription", "=", True),
            ("state", "=", "sale"),
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

    def _subscription_process_renewals(self, today):
        """Process one batch; return the subscriptions that were handled.

        Subscriptions that another transaction holds, whose charge is under
        way, or that failed are left out and picked up by the next run. The
        emails the batch queued are sent once its subscriptions moved on: one
        that cannot be rendered stays queued for the notices scheduled action,
        and holds back neither a renewal nor a payment.
        """
        chargeable = self.filtered(
            lambda o: o.subscription_state == "in_progress"
            or not (o.renewal_deadline and today > o.renewal_deadline)
        ).filtered(
            lambda o: o.payment_token_id
            and o.payment_token_id._is_valid_for_charge(today)
        )
        handled = self.browse()
        try:
            with self._subscription_isolated():
                handled = (self - chargeable)._subscription_lock_batch(today)
                handled._subscription_process_without_card(today)
        except Exception:
            _logger.exception("Renewal batch %s failed.", (self - chargeable).ids)
            handled = self.browse()
        if chargeable:
            try:
                handled |= chargeable._subscription_renew_with_token(today)
            except Exception:
                _logger.exception("Renewal batch %s failed.", chargeable.ids)
        handled.filtered("subscription_notice")._subscription_send_notices()
        return handled

    def _subscription_process_without_card(self, today):
        """Grace period of subscriptions that cannot be charged: open, remind, close."""
        overdue = self.filtered(
            lambda o: o.subscription_state == "to_renew"
            and o.renewal_deadline
            and today > o.renewal_deadline
        )
        overdue._subscription_close("unpaid")
        waiting = (self - overdue).filtered(
            lambda o: o.subscription_state == "to_renew"
        )
        waiting._subscription_send_reminders(today)
        (self - overdue - waiting)._subscription_set_to_renew(today)
        # A technical date: no chatter entry, and no write where it is set.
        unchecked = self.filtered(lambda o: o.subscription_checked_date != today)
        unchecked.with_context(mail_notrack=True).subscription_checked_date = today

    @contextmanager
    def _subscription_isolated(self):
        """One unit of work of the engine: committed alone, or undone alone."""
        if self.env.context.get("subscription_renewal_commit"):
            try:
                yield
                # The engine's unit of work, in the batched scheduled action only.
                self.env.cr.commit()  # pylint: disable=invalid-commit
            except Exception:
                self.env.cr.rollback()
                raise
        else:
            with self.env.cr.savepoint():
                yield

    def _subscription_lock_batch(self, today=None):
        """Lock the rows; return those locked (given ``today``, and still due)."""
        try:
            with self.env.cr.savepoint():
                locked = self._subscription_lock()
        except pg_errors.SerializationFailure:
            # Another worker changed these rows since this run began: leave them
            # to the next run rather than act on what was read before.
            _logger.info("Renewal batch %s changed concurrently; skipped.", self.ids)
            return self.browse()
        if today is None or not locked:
            return locked
        # The batch was read before the lock: since then another worker or a
        # portal payment may have renewed some of it and committed. Read again
        # and keep what is still due, or its next period would be billed now.
        locked.invalidate_recordset()
        return self.search(
            [("id", "in", locked.ids)] + self._subscription_renewal_domain(today)
        )

    def _subscription_renew_with_token(self, today):
        """Bill and charge these subscriptions; return those handled.

        The batch goes through in phases rather than one subscription at a
        time: its rows are locked, its periods billed and its charges recorded
        in one unit, on record before any provider is called; the providers
        are called one charge at a time; the payments of the charges that went
        through are made together; last, the subscriptions whose charge was
        declined open their grace period. A subscription that fails in a phase
        does not hold back the others; one whose charge is under way is left
        to a later run.
        """

        def start(orders):
            return orders._subscription_lock_batch(today)._subscription_charge_create()

        started = self._subscription_in_units(self, start)
        invoices = self.env["account.move"].sudo()
        transactions = self.env["payment.transaction"].sudo()
        for unit_invoices, unit_transactions in started:
            invoices |= unit_invoices
            transactions |= unit_transactions
        orders = invoices.subscription_id
        paid = orders._subscription_charge_settle(invoices, transactions)
        handled = self._subscription_in_units(
            orders, lambda units: units._subscription_charge_outcome(paid, today)
        )
        return self.browse().union(*handled)

    def _subscription_charge_outcome(self, paid, today):
        """Act on the outcome of the charges; return the subscriptions handled.

        Those not ``paid`` whose charge is under way are left to a later run;
        the others' charge was declined: their grace period opens, or goes on
        with its reminders.
        """
        in_flight = (self - paid)._subscription_charges_in_flight()
        declined = self - paid - in_flight
        opening = declined.filtered(lambda o: o.subscription_state == "in_progress")
        opening._subscription_set_to_renew(today)
        (declined - opening)._subscription_send_reminders(today)
        handled = self - in_flight
        # A technical date: no chatter entry, and no write where it is set.
        unchecked = handled.filtered(lambda o: o.subscription_checked_date != today)
        unchecked.with_context(mail_notrack=True).subscription_checked_date = today
        return handled

    def _subscription_in_units(self, records, work):
        """Do ``work`` on ``records`` as one unit of work, else one per record.

        The whole batch as one unit is the fast way; if it fails, each record
        goes through on its own, so that one that fails does not hold back the
        others. Return the results of the units done.
        """
        try:
            with self._subscription_isolated():
                return [work(records)]
        except Exception:
            if len(records) == 1:
                _logger.exception("Subscription %s failed.", records.display_name)
                return []
            _logger.warning(
                "Subscriptions %s failed: retried one by one.",
                records.ids,
                exc_info=True,
            )
        results = []
        for record in records:
            results += self._subscription_in_units(record, work)
        return results

    def _subscription_charges_in_flight(self):
        """The subscriptions whose charge of the open period is under way.

        A charge waiting for its provider (draft, pending, authorized) or for
        its post-processing (done) may still pay the period: no grace period
        opens meanwhile, and no other charge is sent.
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
                    "|",
                    ("state", "in", ("draft", "pending", "authorized")),
                    "&",
                    ("state", "=", "done"),
                    ("is_post_processed", "=", False),
                ]
            )
        )
        periods = {
            (invoice.subscription_id, invoice.subscription_period_start)
            for invoice in transactions.invoice_ids
        }
        return self.filtered(lambda o: (o, o.next_invoice_date) in periods)

    def _subscription_send_reminders(self, today):
        due = self.filtered(
            lambda o: o.renewal_deadline
            and (o.renewal_deadline - today).days in REMINDER_DAYS
        )
        if due:
            due.subscription_notice = "reminder"
            self._subscription_trigger_notices()

    @api.model
    def _subscription_send_expiry_warnings(self, today):
        """Warn customers whose card expires before their next renewal."""
        days = self._subscription_expiry_warning_days()
        orders = self.search(
            [
                ("is_subscription", "=", True),
                ("subscription_state", "=", "in_progress"),
                ("next_invoice_date", "<=", today + timedelta(days=days)),
                ("next_invoice_date", ">", today),
                ("payment_token_id.expiry_date", "!=", False),
            ]
        ).filtered(
            lambda o: o.payment_token_id.expiry_date < o.next_invoice_date
            and o.subscription_expiry_warned_date != o.next_invoice_date
        )
        if not orders:
            return orders
        # A warning that cannot be sent is logged and tried again the next day;
        # it never holds back the renewals.
        warned = self._subscription_in_units(
            orders, lambda units: units._subscription_warn_card_expiry()
        )
        return self.browse().union(*warned)

    def _subscription_warn_card_expiry(self):
        """Email the card expiry warning, once per renewal date."""
        for next_date, group in self.grouped("next_invoice_date").items():
            group.subscription_expiry_warned_date = next_date
        self._subscription_send_mail("mail_template_subscription_card_expiring")
        return self

    @api.model
    def _subscription_expiry_warning_days(self):
        value = (
            self.env["ir.config_parameter"]
            .sudo()
            .get_param(EXPIRY_WARNING_PARAM, DEFAULT_EXPIRY_WARNING_DAYS)
        )
        try:
            return max(int(value), 0)
        except (TypeError, ValueError):
            return DEFAULT_EXPIRY_WARNING_DAYS

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
        return self._subscription_run_batches(
            [("subscription_notice", "!=", False)],
            lambda batch: batch._subscription_send_notices(),
            batch_size,
        )

    def _subscription_send_notices(self):
        """Send the batch's notices; return the subscriptions done with."""
        sent = self._subscription_in_units(
            self, lambda orders: orders._subscription_send_notices_locked()
        )
        return self.browse().union(*sent)

    def _subscription_send_notices_locked(self):
        # Rows another transaction holds (the engine moving them on) are left
        # to the next run, with their notice as it will then be.
        orders = self._subscription_lock()
        orders.invalidate_recordset(["subscription_notice", "subscription_state"])
        for notice, (template_xmlid, state) in SUBSCRIPTION_NOTICES.items():
            orders.filtered(
                lambda o, notice=notice, state=state: o.subscription_notice == notice
                and o.subscription_state == state
            )._subscription_send_mail(template_xmlid)
        orders.with_context(mail_notrack=True).subscription_notice = False
        return orders

    def _subscription_send_mail(self, template_xmlid):
        """Queue the customer email ``template_xmlid`` for these subscriptions."""
        if not self:
            return
        template = self.env.ref(
            f"portal_account.{template_xmlid}", raise_if_not_found=False
        )
        if not template:
            return
        template.sudo().send_mail_batch(self.ids)
