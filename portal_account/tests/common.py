# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date
from unittest.mock import patch

from odoo import Command

from odoo.addons.account.tests.common import AccountTestInvoicingCommon

# A test card's provider reference says how the provider answers a charge, as
# the test card numbers of real providers do.
TEST_CARD_REF = "portal-account-test-card-{outcome}"
TEST_CARD_OUTCOMES = ("done", "pending", "error")


def model_class(env_or_registry, model_name):
    """The registry's class of ``model_name``, from an environment or a registry."""
    model = env_or_registry[model_name]
    return model if isinstance(model, type) else type(model)


def answer_test_charge(transactions, outcome):
    """What the provider answers to these charges: their new state."""
    if outcome == "done":
        transactions._set_done()
    elif outcome == "pending":
        transactions._set_pending()
    else:
        transactions._set_error("The card was declined (test card).")


def settle_test_charge(transactions, outcome):
    """What a provider's later notification, then core's post-processing, do."""
    answer_test_charge(transactions, outcome)
    if outcome == "done":
        transactions._post_process()


def create_test_card_provider(env, name="Test Cards"):
    """Core's test payment provider, set up for charges by token.

    The provider of ``payment/tests/common.py`` (``code`` ``none``: no provider
    module to install) with the payment method and journal that
    ``account_payment/tests/common.py`` gives it, so that its charges make
    payments. Its charges are answered by :func:`card_network_answers`.
    """
    PaymentMethod = model_class(env, "account.payment.method")
    method_information = PaymentMethod._get_payment_method_information

    def with_test_provider(self):
        return dict(
            method_information(self), none={"mode": "electronic", "type": ("bank",)}
        )

    card = env.ref("payment.payment_method_unknown")
    with patch.object(
        PaymentMethod, "_get_payment_method_information", with_test_provider
    ):
        if not env["account.payment.method"].search_count(
            [("code", "=", "none"), ("payment_type", "=", "inbound")]
        ):
            env["account.payment.method"].sudo().create(
                {"name": "Test Cards", "code": "none", "payment_type": "inbound"}
            )
        provider = env["payment.provider"].create(
            {
                "name": name,
                "code": "none",
                "state": "test",
                "is_published": True,
                "allow_tokenization": True,
                "payment_method_ids": [Command.set(card.ids)],
            }
        )
    # Core refuses to activate a payment method before a provider supports it.
    card.write({"active": True, "support_tokenization": True})
    return provider


def card_network_answers(env_or_registry):
    """Charges of core's test provider answered at once, by the card's outcome.

    Core's test provider (``code`` ``none``, from ``payment/tests/common.py``)
    sends nothing anywhere: here its charges by token are settled the moment
    they are sent, as a real provider answers a charge request, with the
    outcome its test card stands for. Return the patcher of the registry's
    class, so that the HTTP server's threads see it too.
    """
    Transaction = model_class(env_or_registry, "payment.transaction")
    send_payment_request = Transaction._send_payment_request

    def send_test_payment_request(transaction):
        send_payment_request(transaction)
        if transaction.provider_code != "none" or not transaction.token_id:
            return
        for outcome in TEST_CARD_OUTCOMES:
            if transaction.token_id.provider_ref == TEST_CARD_REF.format(
                outcome=outcome
            ):
                answer_test_charge(transaction, outcome)

    return patch.object(Transaction, "_send_payment_request", send_test_payment_request)


class SubscriptionCommon(AccountTestInvoicingCommon):
    """Customers, a monthly plan, a test payment provider and subscriptions."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=False))
        cls.company = cls.env.company
        # The customer emails need a sender: the company's alias domain gives
        # it, as in core's mail tests.
        if not cls.company.alias_domain_id.default_from_email:
            cls.company.alias_domain_id = cls.env["mail.alias.domain"].create(
                {
                    "name": "portal-account.example.com",
                    "bounce_alias": "bounce",
                    "catchall_alias": "catchall",
                    "default_from": "notifications",
                }
            )
        cls.plan = cls.env["subscription.plan"].create(
            {
                "name": "Monthly",
                "billing_period_value": 1,
                "billing_period_unit": "month",
                "grace_period_days": 7,
            }
        )
        cls.app = cls.env["product.product"].create(
            {"name": "Sales App", "type": "service", "list_price": 100.0}
        )
        cls.user_product = cls.env["product.product"].create(
            {"name": "User", "type": "service", "list_price": 20.0}
        )
        cls.customer = cls.env["res.partner"].create(
            {"name": "Acme Corp", "is_company": True, "email": "acme@example.com"}
        )
        cls.customer_contact = cls.env["res.partner"].create(
            {
                "name": "Ann Acme",
                "parent_id": cls.customer.id,
                "email": "ann@example.com",
            }
        )
        cls.other_customer = cls.env["res.partner"].create(
            {"name": "Globex", "is_company": True, "email": "globex@example.com"}
        )
        cls.provider = create_test_card_provider(cls.env)
        cls.startClassPatcher(card_network_answers(cls.env))

    @classmethod
    def _create_token(cls, partner=None, state="done", expiry_date=False, **values):
        return cls.env["payment.token"].create(
            {
                "provider_id": cls.provider.id,
                "payment_method_id": cls.provider.payment_method_ids.id,
                "payment_details": "4Q2Z",
                "partner_id": (partner or cls.customer).id,
                "provider_ref": TEST_CARD_REF.format(outcome=state),
                "expiry_date": expiry_date,
                **values,
            }
        )

    @staticmethod
    def _set_card_outcome(token, outcome):
        """Make the provider answer the next charges of ``token`` with ``outcome``."""
        token.provider_ref = TEST_CARD_REF.format(outcome=outcome)

    @classmethod
    def _create_subscription(
        cls, partner=None, token=None, start=date(2026, 1, 1), **values
    ):
        order = cls.env["sale.order"].create(
            {
                "partner_id": (partner or cls.customer).id,
                "subscription_plan_id": cls.plan.id,
                "subscription_start_date": start,
                "order_line": [
                    Command.create({"product_id": cls.app.id, "product_uom_qty": 1}),
                    Command.create(
                        {"product_id": cls.user_product.id, "product_uom_qty": 3}
                    ),
                ],
                **values,
            }
        )
        order.action_confirm()
        if token:
            order.payment_token_id = token
        return order

    def _run_renewal(self):
        """One run of the renewal engine, then of the notices it triggered."""
        SaleOrder = self.env["sale.order"]
        done = SaleOrder._cron_subscription_renewal()
        SaleOrder._cron_subscription_send_notices()
        return done

    def _period_invoices(self, subscription, period_start=date(2026, 1, 1)):
        """The invoices of the subscription's period starting ``period_start``."""
        return self.env["account.move"].search(
            [
                ("subscription_id", "=", subscription.id),
                ("subscription_period_start", "=", period_start),
                ("state", "!=", "cancel"),
            ]
        )

    def _transactions(self, invoices):
        return self.env["payment.transaction"].search(
            [("invoice_ids", "in", invoices.ids)]
        )

    def _queued_mails(self, order, template_xmlid):
        template = self.env.ref(f"portal_account.{template_xmlid}")
        subject = template._render_field("subject", order.ids)[order.id]
        return self.env["mail.mail"].search(
            [
                ("model", "=", "sale.order"),
                ("res_id", "=", order.id),
                ("subject", "=", subject),
            ]
        )
