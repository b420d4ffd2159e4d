# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import Command, fields, models
from odoo.tools import format_date


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    subscription_qty_removed = fields.Float(
        string="Removed at Next Renewal",
        digits="Product Unit of Measure",
        copy=False,
        help="Seats the customer removed: the quantity is lowered by this much "
        "when the next period is billed.",
    )

    def _get_display_price(self):
        price = super()._get_display_price()
        if self._subscription_is_open_upsell():
            # An upsell bills the rest of the running period only.
            subscription = self.order_id.origin_subscription_id
            price = subscription._subscription_prorate(
                self._subscription_period_price()
            )
        return price

    def _subscription_is_open_upsell(self):
        order = self.order_id
        return bool(
            order.subscription_quote_type == "upsell"
            and order.origin_subscription_id
            and order.state in ("draft", "sent")
            and self.product_id
            and not self.env.context.get("subscription_period_price")
        )

    def _subscription_period_price(self):
        """The price of this line's product for a full period of its subscription."""
        self.ensure_one()
        subscription = self.order_id.origin_subscription_id
        if subscription.order_line.filtered(
            lambda line: line.product_id == self.product_id
            and line._is_subscription_recurring()
        ):
            return subscription._subscription_period_unit_price(self.product_id)
        return self.with_context(subscription_period_price=True)._get_display_price()

    def _is_subscription_recurring(self):
        """Whether the line is billed again every period of its subscription."""
        self.ensure_one()
        return not (
            self.display_type
            or self.is_downpayment
            or self.product_id.success_pack_hours > 0
            or self.product_uom_qty <= 0
        )

    def _prepare_subscription_quote_line(self):
        """Values of a copy of this line on an upsell, renewal or subscription."""
        self.ensure_one()
        return {
            "product_id": self.product_id.id,
            "name": self.name,
            "product_uom_qty": self.product_uom_qty,
            "product_uom": self.product_uom.id,
            "price_unit": self.price_unit,
            "discount": self.discount,
            "tax_id": [Command.set(self.tax_id.ids)],
        }

    def _prepare_subscription_invoice_line(self, period_start, period_end):
        """Invoice line values billing this line for one subscription period.

        The line is not linked to the invoice line: a subscription bills its
        lines every period, which must not count as invoicing the order again.
        """
        self.ensure_one()
        values = self._prepare_invoice_line(quantity=self.product_uom_qty)
        values.pop("sale_line_ids", None)
        values["name"] = self.env._(
            "%(description)s\n%(start)s to %(end)s",
            description=values["name"],
            start=format_date(self.env, period_start),
            end=format_date(self.env, period_end),
        )
        return values

    def _success_pack_apply(self):
        """Create or top up the customers' Success Packs bought by these lines."""
        pack_lines = self.filtered(
            lambda line: line.product_id.success_pack_hours > 0
            and line.product_uom_qty > 0
        )
        if not pack_lines:
            return self.env["success.pack"]
        Pack = self.env["success.pack"].sudo()
        customers = pack_lines.order_id.partner_id.commercial_partner_id
        packs = Pack.search([("partner_id", "in", customers.ids)], order="id desc")
        pack_by_key = {}
        for pack in packs:
            pack_by_key.setdefault((pack.partner_id, pack.company_id), pack)
        for line in pack_lines:
            order = line.order_id
            key = (order.partner_id.commercial_partner_id, order.company_id)
            hours = line.product_id.success_pack_hours * line.product_uom_qty
            pack = pack_by_key.get(key)
            if pack:
                pack.write(
                    {
                        "hours_purchased": pack.hours_purchased + hours,
                        "sale_order_line_id": line.id,
                        "active": True,
                    }
                )
            else:
                pack_by_key[key] = Pack.create(
                    {
                        "name": line.product_id.name,
                        "partner_id": key[0].id,
                        "company_id": key[1].id,
                        "expert_id": order.user_id.id,
                        "hours_purchased": hours,
                        "sale_order_line_id": line.id,
                    }
                )
        return Pack.union(*pack_by_key.values())
