# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from odoo import Command, fields, models
from odoo.tools import html2plaintext

from ..tools.work_units import WorkUnit, work_units

# A charge whose outcome is unknown is sent again this soon: well within the
# time its provider keeps the idempotency key (payment_provider.py).
RESEND_DELAY = timedelta(hours=1)


class PaymentTransaction(models.Model):
    _inherit = "payment.transaction"

    subscription_charge_attempts = fields.Integer(
        string="Charge Attempts",
        readonly=True,
        copy=False,
        help="How many times the renewal engine sent this charge to its provider.",
    )
    subscription_charge_attempt_date = fields.Datetime(
        string="Last Charge Attempt", readonly=True, copy=False
    )

    # ------------------------------------------------------------
    # The renewal engine's steps on its charges
    # ------------------------------------------------------------

    def _renewal_send(self):
        """Send each charge to its provider, in a unit of its own.

        A charge whose request raised stays in draft: whether the provider took
        the money is unknown. The next run sends it again as itself or flags it
        (``sale.order._renewal_charge``); that run is brought forward so that a
        resend falls well within the time providers keep idempotency keys.
        """
        lost = self.browse()
        for transaction in self:
            # Each send commits, which empties the cache: prefetching the whole
            # batch again for every charge would read it once per charge.
            transaction = transaction.with_prefetch()
            unit = WorkUnit(transaction)
            with unit:
                transaction._send_payment_request()
            if unit.failed:
                lost |= transaction
        if lost:
            with WorkUnit(lost):
                lost.state_message = self.env._(
                    "The provider's answer to this charge was lost: it is sent "
                    "again, or checked by hand."
                )
                cron = self.env.ref("portal_account.ir_cron_subscription_renewal")
                cron.sudo()._trigger(at=fields.Datetime.now() + RESEND_DELAY)

    def _renewal_post_process(self):
        """Post-process the charges that went through, in batch.

        One that fails stays done and waiting for it (core's scheduled action
        tries again), its subscription waiting meanwhile.
        """
        done = self.filtered(lambda tx: tx.state == "done" and not tx.is_post_processed)
        for unit in work_units(done):
            with unit:
                unit.records._subscription_create_payments()
                unit.records._post_process()

    def _subscription_may_resend(self):
        """Whether this charge of unknown outcome may be sent again as itself."""
        self.ensure_one()
        window = self.provider_id._subscription_resend_window()
        SaleOrder = self.env["sale.order"]
        return bool(
            window
            and self.subscription_charge_attempts
            < SaleOrder._subscription_max_charge_attempts()
            and (
                not self.subscription_charge_attempt_date
                or fields.Datetime.now() - self.subscription_charge_attempt_date
                < window
            )
        )

    def _subscription_outlasts_grace(self, today):
        """Whether this charge is still under way past its period's grace."""
        self.ensure_one()
        for move in self.invoice_ids.filtered("subscription_id"):
            plan = move.subscription_id.subscription_plan_id
            if today > move.subscription_period_start + timedelta(
                days=plan.grace_period_days
            ):
                return True
        return False

    def _subscription_flag_charge(self):
        """Have someone check these charges with their provider."""
        for transaction in self:
            order = transaction.invoice_ids.subscription_id[:1]
            if not order or order.subscription_charge_to_check:
                continue
            order._subscription_flag_for_review(
                self.env._(
                    "Check the charge %(reference)s (%(provider)s, %(state)s) with "
                    "the provider: %(error)s",
                    reference=transaction.reference,
                    provider=transaction.provider_id.name,
                    state=dict(
                        transaction._fields["state"]._description_selection(self.env)
                    ).get(transaction.state),
                    error=transaction.state_message
                    or self.env._("the provider has not answered."),
                )
            )

    def _subscription_log_declined(self):
        """Tell on each subscription that its charge was declined, and why."""
        bodies = {
            transaction.invoice_ids.subscription_id.id: self.env._(
                "The payment of %(invoice)s with %(token)s failed: %(reason)s",
                invoice=transaction.invoice_ids._get_html_link(),
                token=transaction.token_id.display_name,
                reason=html2plaintext(transaction.state_message or "")
                or transaction.state,
            )
            for transaction in self
            if transaction.invoice_ids.subscription_id
        }
        self.env["sale.order"].browse(bodies)._message_log_batch(bodies=bodies)

    # ------------------------------------------------------------
    # Payments made in batch
    # ------------------------------------------------------------

    def _subscription_create_payments(self):
        """Create, post and reconcile the payments of these done transactions.

        Under the renewal engine's context key only: core's post-processing
        makes, posts and reconciles the payment of each transaction with its
        own queries. The payments made here are those core's ``_create_payment``
        makes (``tests/test_renewal_equivalence.py`` compares them), in one
        create, one post and one reconciliation; core's ``_post_process`` then
        finds them and does the rest. Transactions core handles in a special
        way (partial captures and voids, early payment discounts) are left to
        it.
        """
        if not self.env.context.get("subscription_renewal"):
            return
        transactions = self.filtered(
            lambda tx: tx.state == "done"
            and tx.operation != "validation"
            and not tx.payment_id
            and not tx.source_transaction_id
            and not tx.child_transaction_ids
            and tx.invoice_ids
            and not tx.invoice_ids.invoice_payment_term_id.filtered("early_discount")
        )
        transactions.invoice_ids.filtered(
            lambda invoice: invoice.state == "draft"
        ).action_post()
        for company, company_transactions in transactions.grouped("company_id").items():
            company_transactions.with_company(company)._subscription_pay_invoices()

    def _subscription_pay_invoices(self):
        """Pay the invoices of these transactions, all of one company."""
        payments = self.env["account.payment"].create(
            [tx._subscription_payment_values() for tx in self]
        )
        # Without core's empty write-off values, create leaves the journal
        # entries to the post, which makes them all in one create.
        payments.action_post()
        reconciliation_plan = []
        for transaction, payment in zip(self, payments, strict=True):
            transaction.payment_id = payment
            invoices = transaction.invoice_ids.filtered(
                lambda invoice: invoice.state != "cancel"
            )
            reconciliation_plan.append(
                (payment.move_id.line_ids + invoices.line_ids).filtered(
                    lambda line, payment=payment: line.account_id
                    == payment.destination_account_id
                    and not line.reconciled
                )
            )
        self.env["account.move.line"]._reconcile_plan(reconciliation_plan)
        return payments

    def _subscription_payment_values(self):
        """The values of core's ``_create_payment`` for this transaction."""
        self.ensure_one()
        provider = self.provider_id
        method_line = provider.journal_id.inbound_payment_method_line_ids.filtered(
            lambda line: line.payment_provider_id == provider
        )
        values = {
            "amount": abs(self.amount),
            "payment_type": "inbound" if self.amount > 0 else "outbound",
            "currency_id": self.currency_id.id,
            "partner_id": self.partner_id.commercial_partner_id.id,
            "partner_type": "customer",
            "journal_id": provider.journal_id.id,
            "company_id": provider.company_id.id,
            "payment_method_line_id": method_line.id,
            "payment_token_id": self.token_id.id,
            "payment_transaction_id": self.id,
            "memo": f"{self.reference} - {self.partner_id.display_name or ''} - "
            f"{self.provider_reference or ''}",
            "invoice_ids": [Command.set(self.invoice_ids.ids)],
        }
        term_lines = self.invoice_ids.line_ids.filtered(
            lambda line: line.display_type == "payment_term"
        )
        if term_lines:
            values["destination_account_id"] = term_lines[0].account_id.id
        return values
