# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import Counter, defaultdict

from odoo import SUPERUSER_ID, Command, api, models


class PaymentTransaction(models.Model):
    _inherit = "payment.transaction"

    def _log_message_on_linked_documents(self, message):
        """Collect the invoices' messages when the renewal engine asks for it.

        With a list as ``subscription_invoice_log`` in the context, the message
        core posts on each invoice is appended to it as ``(invoice, message,
        author)`` instead, for ``_subscription_log_on_invoices`` to log with the
        messages of the other transactions of the batch.
        """
        invoice_log = self.env.context.get("subscription_invoice_log")
        if invoice_log is not None:
            # The author core gives these messages.
            author = (
                self.env.user.partner_id
                if self.env.uid == SUPERUSER_ID
                else self.partner_id
            )
            invoice_log.extend(
                (invoice, message, author)
                for invoice in super()._get_invoices_to_notify()
            )
        return super()._log_message_on_linked_documents(message)

    def _get_invoices_to_notify(self):
        """No invoice while the renewal engine collects their messages."""
        invoices = super()._get_invoices_to_notify()
        if self.env.context.get("subscription_invoice_log") is not None:
            return invoices.browse()
        return invoices

    @api.model
    def _subscription_log_on_invoices(self, invoice_log):
        """Log the collected invoice messages, one batch per author and round.

        Each invoice gets its messages in the order core would have posted
        them: the first one of every invoice, then the second one, and so on.
        """
        rounds = defaultdict(lambda: defaultdict(dict))
        logged = Counter()
        for invoice, message, author in invoice_log:
            rounds[logged[invoice]][author][invoice.id] = message
            logged[invoice] += 1
        Move = self.env["account.move"]
        for bodies_by_author in rounds.values():
            for author, bodies in bodies_by_author.items():
                Move.browse(bodies)._message_log_batch(
                    bodies=bodies, author_id=author.id
                )

    def _subscription_post_process(self):
        """Post-process these transactions as core does, in batch.

        Core's post-processing creates, posts and reconciles the payment of each
        done transaction, and posts a message on its invoices, one at a time;
        the renewal engine post-processes a whole batch of charges. Their
        payments are made here together first: core then finds them and does
        the rest, its messages logged together at the end.
        """
        invoice_log = []
        transactions = self.with_context(subscription_invoice_log=invoice_log)
        transactions._subscription_create_payments()
        transactions._post_process()
        self._subscription_log_on_invoices(invoice_log)

    def _subscription_create_payments(self):
        """Create, post and reconcile the payments of these done transactions.

        The payments are those core's ``_create_payment`` makes, in one create,
        one post and one reconciliation. Transactions core handles in a special
        way (partial captures and voids, early payment discounts) are left to
        it.
        """
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
