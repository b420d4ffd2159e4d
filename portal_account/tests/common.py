# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date

from odoo import Command

from odoo.addons.account.tests.common import AccountTestInvoicingCommon


class SubscriptionCommon(AccountTestInvoicingCommon):
    """Customers, a monthly plan, a demo payment provider and subscriptions."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=False))
        cls.company = cls.env.company
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
        cls.provider = cls._prepare_demo_provider()

    @classmethod
    def _prepare_demo_provider(cls):
        provider = cls.env.ref("payment.payment_provider_demo").sudo()
        if provider.company_id != cls.company:
            provider = provider.copy(
                {
                    "company_id": cls.company.id,
                    "code": provider.code,
                    "payment_method_ids": provider.payment_method_ids.ids,
                }
            )
        provider.write({"state": "test", "is_published": True})
        return provider.sudo(False)

    @classmethod
    def _create_token(cls, partner=None, state="done", expiry_date=False, **values):
        return cls.env["payment.token"].create(
            {
                "provider_id": cls.provider.id,
                "payment_method_id": cls.provider.payment_method_ids[:1].id
                or cls.env.ref("payment.payment_method_unknown").id,
                "payment_details": "4Q2Z",
                "partner_id": (partner or cls.customer).id,
                "provider_ref": "demo-token",
                "demo_simulated_state": state,
                "expiry_date": expiry_date,
                **values,
            }
        )

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
