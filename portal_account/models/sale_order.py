# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import uuid
from datetime import timedelta

from odoo import Command, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.osv import expression
from odoo.tools import create_index, format_date, html2plaintext, plaintext2html


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
        domain="[('id', 'in', suitable_payment_token_ids)]",
        tracking=True,
        copy=False,
        index="btree_not_null",
    )
    suitable_payment_token_ids = fields.Many2many(
        comodel_name="payment.token",
        compute="_compute_suitable_payment_token_ids",
        help="The cards that can pay this subscription today.",
    )
    payment_token_expires_before_renewal = fields.Boolean(
        compute="_compute_payment_token_expires_before_renewal",
        help="The card set will have expired by the next renewal.",
    )
    subscription_charge_to_check = fields.Boolean(
        string="Charge to Check",
        copy=False,
        index=True,
        tracking=True,
        help="A charge of this subscription has an outcome the renewal engine "
        "could not learn: check it with the payment provider, then untick.",
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

    @api.depends("partner_id", "company_id")
    @api.depends_context("date")
    def _compute_suitable_payment_token_ids(self):
        Token = self.env["payment.token"]
        for order in self:
            order.suitable_payment_token_ids = Token.search(
                order._subscription_payment_token_domain(
                    fields.Date.context_today(order)
                )
            )

    @api.depends("payment_token_id.expiry_date", "next_invoice_date")
    def _compute_payment_token_expires_before_renewal(self):
        for order in self:
            expiry_date = order.payment_token_id.expiry_date
            order.payment_token_expires_before_renewal = bool(
                expiry_date
                and order.next_invoice_date
                and expiry_date < order.next_invoice_date
            )

    @api.depends(
        "subscription_state",
        "next_invoice_date",
        "subscription_end_date",
        "subscription_invoice_ids",
    )
    @api.depends_context("date")
    def _compute_invoice_status(self):
        """A subscription is to invoice only while its open period is unbilled.

        Its invoices bill periods, not the order's lines, so core would see it
        to invoice forever: the renewal engine bills it, and Create Invoice
        bills the open period through the engine (``_create_invoices``). A
        paused subscription, or one whose open period starts on or after the
        customer's end date, has nothing to invoice.
        """
        res = super()._compute_invoice_status()
        subscriptions = self.filtered(lambda o: o.is_subscription and o.state == "sale")
        billed = subscriptions._subscription_period_invoices().subscription_id
        today = fields.Date.context_today(self)
        for order in subscriptions:
            if (
                order._subscription_bills_open_period()
                and order.next_invoice_date <= today
                and order not in billed
            ):
                order.invoice_status = "to invoice"
            elif order.subscription_invoice_ids:
                order.invoice_status = "invoiced"
            else:
                order.invoice_status = "no"
        return res

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

    @api.constrains("payment_token_id", "partner_id", "company_id")
    def _check_payment_token_partner(self):
        for order in self.filtered("payment_token_id"):
            if not order._subscription_can_pay_with(order.payment_token_id, False):
                raise order._subscription_token_error(order.payment_token_id)

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

    def _create_invoices(self, grouped=False, final=False, date=None):
        """Create Invoice bills a subscription's open period, once.

        A subscription's invoices bill its periods: its open period goes
        through the renewal engine's billing, which makes it once whoever asks;
        an order of another kind is invoiced by core.
        """
        subscriptions = self.filtered(lambda o: o.is_subscription and o.state == "sale")
        if not subscriptions:
            return super()._create_invoices(grouped=grouped, final=final, date=date)
        paused = subscriptions.filtered(lambda o: o.subscription_state == "paused")
        if paused:
            raise UserError(
                self.env._(
                    "%(subscriptions)s is paused: nothing is billed while it is "
                    "paused. Resume it to bill its open period.",
                    subscriptions=", ".join(paused.mapped("name")),
                )
            )
        not_running = subscriptions.filtered(
            lambda o: o.subscription_state not in ("in_progress", "to_renew")
        )
        if not_running:
            raise UserError(
                self.env._(
                    "%(subscriptions)s is not running: only a running subscription "
                    "bills a period.",
                    subscriptions=", ".join(not_running.mapped("name")),
                )
            )
        ending = subscriptions.filtered(
            lambda o: o.subscription_end_date
            and not o._subscription_bills_open_period()
        )
        if ending:
            raise UserError(
                self.env._(
                    "%(subscriptions)s closes on %(date)s at the customer's request: "
                    "no period starting on or after that day is billed.",
                    subscriptions=", ".join(ending.mapped("name")),
                    date=", ".join(
                        format_date(self.env, day)
                        for day in sorted(set(ending.mapped("subscription_end_date")))
                    ),
                )
            )
        billed = subscriptions._subscription_period_invoices().subscription_id
        if billed:
            raise UserError(
                self.env._(
                    "The open period of %(subscriptions)s is already billed: its "
                    "next period is billed on its next invoice date.",
                    subscriptions=", ".join(billed.mapped("name")),
                )
            )
        invoices = subscriptions._subscription_bill_open_period()
        others = self - subscriptions
        if others:
            invoices |= super(SaleOrder, others)._create_invoices(
                grouped=grouped, final=final, date=date
            )
        return invoices

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

    def _subscription_bills_open_period(self):
        """Whether the open period is to be billed: the subscription runs (not
        paused) and the period starts before the customer's end date."""
        self.ensure_one()
        return bool(
            self.subscription_state in ("in_progress", "to_renew")
            and self.next_invoice_date
            and not (
                self.subscription_end_date
                and self.next_invoice_date >= self.subscription_end_date
            )
        )

    def _subscription_apply_removed_seats(self):
        """Apply the seats the customers removed, before their next period is billed."""
        lines = self.order_line.filtered("subscription_qty_removed")
        by_quantity = lines.grouped(
            lambda line: max(line.product_uom_qty - line.subscription_qty_removed, 0)
        )
        for quantity, group in by_quantity.items():
            group.write({"product_uom_qty": quantity, "subscription_qty_removed": 0})
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

    # ------------------------------------------------------------
    # Business methods: which cards pay, who checks
    # ------------------------------------------------------------

    def _subscription_payment_token_domain(self, on_date=None):
        """The cards that may pay this subscription.

        The cards of the customer's company and its contacts, with the order's
        company; given ``on_date``, only those that can be charged on that day.
        """
        self.ensure_one()
        domain = [
            ("partner_id", "child_of", self.partner_id.commercial_partner_id.id),
            ("company_id", "=", self.company_id.id),
        ]
        if on_date:
            domain = expression.AND(
                [
                    domain,
                    [
                        ("active", "=", True),
                        ("provider_id.state", "in", ("enabled", "test")),
                        "|",
                        ("expiry_date", "=", False),
                        ("expiry_date", ">=", on_date),
                    ],
                ]
            )
        return domain

    def _subscription_can_pay_with(self, token, on_date=None):
        """Whether ``token`` may pay this subscription on ``on_date``.

        ``on_date`` defaults to today; ``False`` asks whose card it is only.
        """
        self.ensure_one()
        if on_date is None:
            on_date = fields.Date.context_today(self)
        return bool(
            token
            and token.sudo().filtered_domain(
                self._subscription_payment_token_domain(on_date)
            )
        )

    def _subscription_token_error(self, token):
        """The error telling why ``token`` may not pay this subscription."""
        self.ensure_one()
        owner = token.sudo().partner_id.commercial_partner_id
        if owner != self.partner_id.commercial_partner_id:
            return ValidationError(
                self.env._(
                    "The payment method %(token)s belongs to %(owner)s: it cannot "
                    "pay the subscription %(subscription)s of %(customer)s.",
                    token=token.display_name,
                    owner=owner.display_name,
                    subscription=self.name,
                    customer=self.partner_id.commercial_partner_id.display_name,
                )
            )
        return UserError(
            self.env._("The payment method %s cannot be charged.", token.display_name)
        )

    def _subscription_responsible(self):
        """Who follows this order up.

        As core's upsell activity: its salesperson, else the customer's; else,
        rather than the customer who acts in the portal, whoever made it.
        """
        self.ensure_one()
        return (
            self.user_id
            or self.partner_id.user_id
            or self.partner_id.commercial_partner_id.user_id
            or self.create_uid.filtered(lambda user: user._is_internal())
        )

    def _subscription_flag_for_review(self, note):
        """Flag the subscription "Charges to check", with a to-do saying why."""
        self.ensure_one()
        self.subscription_charge_to_check = True
        self.activity_schedule(
            "mail.mail_activity_data_todo",
            summary=self.env._("Charge to check"),
            note=note,
            user_id=self._subscription_responsible().id,
        )

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
        # One to-do per customer while it is open: further requests reach the
        # salesperson as messages.
        if not self.activity_ids.filtered(lambda activity: activity.summary == summary):
            self.activity_schedule(
                "mail.mail_activity_data_todo",
                summary=summary,
                note=body,
                user_id=self._subscription_responsible().id,
            )
        self.changes_requested = True
        return True
