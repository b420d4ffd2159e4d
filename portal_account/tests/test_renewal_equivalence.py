# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The engine's fast paths leave what core's own paths leave.

Each is taken only under the context key the engine sets
(``subscription_renewal``). Here core's path and the fast path run on twin
records, and what they leave is compared: tracking messages and values;
payments, their journal items and reconciliations, and the invoices' messages.
(The email bodies are compared in ``test_mail_template.py``.)
"""

import re
from datetime import date

from freezegun import freeze_time

from odoo.tests import tagged

from .common import SubscriptionCommon

ENGINE = {"subscription_renewal": True}
TRACKED = {"mail_notrack": False, "tracking_disable": False}


@tagged("post_install", "-at_install")
class TestRenewalEquivalence(SubscriptionCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with freeze_time("2026-01-01"):
            cls.core, cls.fast = (cls._create_subscription() for _i in range(2))
        token = cls._create_token()
        (cls.core | cls.fast).payment_token_id = token

    def _flush_tracking(self):
        self.env.flush_all()
        self.env.cr.precommit.run()
        self.env.invalidate_all()

    def _tracking(self, order):
        message = order.message_ids[:1]
        return {
            "message": message.read(
                [
                    "message_type",
                    "subtype_id",
                    "author_id",
                    "email_from",
                    "reply_to",
                    "body",
                    "is_internal",
                    "subject",
                    "partner_ids",
                ]
            )[0]
            | {"id": None},
            "values": sorted(
                (
                    value.field_id.name,
                    value.old_value_char,
                    value.new_value_char,
                    value.old_value_datetime,
                    value.new_value_datetime,
                    value.old_value_integer,
                    value.new_value_integer,
                )
                for value in message.tracking_value_ids
            ),
        }

    def test_tracked_write(self):
        self._flush_tracking()
        for values in (
            {
                "subscription_state": "to_renew",
                "renewal_deadline": date(2026, 1, 8),
                "subscription_checked_date": date(2026, 1, 1),
                "subscription_notice": "to_renew",
            },
            {
                "subscription_state": "in_progress",
                "next_invoice_date": date(2026, 2, 1),
                "renewal_deadline": False,
                "subscription_notice": "paid",
            },
        ):
            messages_before = len(self.core.message_ids), len(self.fast.message_ids)
            self.core.with_context(**TRACKED).write(values)
            self._flush_tracking()
            self.fast.with_context(**TRACKED, **ENGINE)._subscription_write_tracked(
                values
            )
            self._flush_tracking()
            self.assertEqual(
                (len(self.core.message_ids), len(self.fast.message_ids)),
                tuple(count + 1 for count in messages_before),
            )
            core, fast = self._tracking(self.core), self._tracking(self.fast)
            self.assertTrue(core["values"])
            self.assertEqual(fast, core)

    def _charge(self, order):
        engine = order.with_context(**ENGINE)
        transaction = engine._renewal_charge(engine._renewal_bill())
        transaction._set_done()
        return transaction

    def _payment_outcome(self, transaction):
        """What the post-processing left, with the names that differ blanked."""
        invoice = transaction.invoice_ids
        payment = transaction.payment_id
        names = {
            transaction.reference: "TX",
            invoice.name: "INV",
            payment.name: "PAY",
        }

        def blank(text):
            text = str(text or "")
            for name, placeholder in names.items():
                text = text.replace(name, placeholder)
            return re.sub(r'data-oe-id="\d+"', 'data-oe-id="ID"', text)

        return {
            "payment": {
                "amount": payment.amount,
                "payment_type": payment.payment_type,
                "partner_type": payment.partner_type,
                "partner": payment.partner_id,
                "journal": payment.journal_id,
                "method_line": payment.payment_method_line_id,
                "token": payment.payment_token_id,
                "state": payment.state,
                "memo": blank(payment.memo),
                "invoices": payment.invoice_ids == invoice,
                "destination_account": payment.destination_account_id,
            },
            "journal_items": sorted(
                (
                    line.account_id.id,
                    line.debit,
                    line.credit,
                    line.partner_id.id,
                    line.reconciled,
                    line.amount_residual,
                )
                for line in payment.move_id.line_ids
            ),
            "invoice": {
                "payment_state": invoice.payment_state,
                "amount_residual": invoice.amount_residual,
                "matched_payments": len(invoice.matched_payment_ids),
                "reconciled_lines": len(
                    invoice.line_ids.matched_credit_ids.credit_move_id
                ),
                "messages": [
                    (blank(message.body), message.message_type, message.subtype_id)
                    for message in invoice.message_ids.sorted("id")
                ],
            },
            "transaction": (transaction.state, transaction.is_post_processed),
            "subscription": (
                invoice.subscription_id.subscription_state,
                invoice.subscription_id.next_invoice_date,
            ),
        }

    def test_payments(self):
        with freeze_time("2026-01-01"):
            core_tx, fast_tx = self._charge(self.core), self._charge(self.fast)
            core_tx.with_context(subscription_renewal=False)._post_process()
            fast_tx.with_context(**ENGINE)._renewal_post_process()
            self._flush_tracking()
        core = self._payment_outcome(core_tx)
        self.assertTrue(core_tx.payment_id)
        self.assertEqual(core["invoice"]["payment_state"], "paid")
        self.assertEqual(self._payment_outcome(fast_tx), core)

    def test_fast_paths_only_under_the_engines_key(self):
        """Every other caller gets core's payment and tracking."""
        with freeze_time("2026-01-01"):
            transaction = self._charge(self.core)
            transaction.with_context(
                subscription_renewal=False
            )._subscription_create_payments()
            self.assertFalse(transaction.payment_id)
            transaction.with_context(**ENGINE)._subscription_create_payments()
            self.assertTrue(transaction.payment_id)
