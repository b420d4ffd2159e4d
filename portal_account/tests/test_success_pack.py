# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import Command
from odoo.exceptions import ValidationError
from odoo.tests import new_test_user, tagged

from .common import SubscriptionCommon


@tagged("post_install", "-at_install")
class TestSuccessPack(SubscriptionCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.expert = new_test_user(
            cls.env,
            login="expert",
            groups="sales_team.group_sale_salesman,base.group_user",
        )
        cls.pack_product = cls.env["product.product"].create(
            {"name": "Success Pack 25h", "type": "service", "success_pack_hours": 25}
        )

    def _buy_pack(self, quantity=1):
        order = self.env["sale.order"].create(
            {
                "partner_id": self.customer_contact.id,
                "user_id": self.expert.id,
                "order_line": [
                    Command.create(
                        {
                            "product_id": self.pack_product.id,
                            "product_uom_qty": quantity,
                        }
                    )
                ],
            }
        )
        order.action_confirm()
        return order

    def test_confirmed_order_creates_then_tops_up_pack(self):
        order = self._buy_pack()
        pack = self.customer.success_pack_ids
        self.assertEqual(len(pack), 1)
        self.assertEqual(pack.partner_id, self.customer)
        self.assertEqual(pack.expert_id, self.expert)
        self.assertEqual(pack.hours_purchased, 25)
        self.assertEqual(pack.sale_order_line_id, order.order_line)
        self._buy_pack(quantity=2)
        self.assertEqual(self.customer.success_pack_ids, pack)
        self.assertEqual(pack.hours_purchased, 75)

    def test_create_from_the_documented_fields_alone(self):
        pack = self.env["success.pack"].create(
            {
                "partner_id": self.customer.id,
                "expert_id": self.expert.id,
                "hours_purchased": 10,
            }
        )
        self.assertRegex(pack.name, r"^SP\d{5}$")
        self.assertEqual(pack.company_id, self.env.company)
        self.assertEqual(pack.hours_remaining, 10)
        self.assertEqual(self.customer.success_expert_id, self.expert)
        line = self._buy_pack().order_line
        named = self.env["success.pack"].create(
            {
                "partner_id": self.other_customer.id,
                "hours_purchased": 5,
                "sale_order_line_id": line.id,
            }
        )
        self.assertEqual(named.name, "Success Pack 25h")

    def test_hours_used_and_left(self):
        self._buy_pack()
        pack = self.customer.success_pack_ids
        self.env["success.pack.log"].create(
            [
                {"pack_id": pack.id, "hours": 4, "name": "Setup"},
                {"pack_id": pack.id, "hours": 1.5, "name": "Training"},
            ]
        )
        self.assertEqual(pack.hours_used, 5.5)
        self.assertEqual(pack.hours_remaining, 19.5)
        self.assertEqual(pack.state, "active")
        self.env["success.pack.log"].create(
            {"pack_id": pack.id, "hours": 19.5, "name": "Go"}
        )
        self.assertEqual(pack.state, "exhausted")
        self.assertFalse(self.customer.success_expert_id)

    def test_expert_on_partner_and_new_tickets(self):
        self._buy_pack()
        self.assertEqual(self.customer_contact.success_expert_id, self.expert)
        ticket = (
            self.env["helpdesk.ticket"]
            .sudo()
            .create(
                {
                    "name": "Cannot log in",
                    "description": "Help",
                    "partner_id": self.customer_contact.id,
                }
            )
        )
        self.assertEqual(ticket.user_id, self.expert)
        other = (
            self.env["helpdesk.ticket"]
            .sudo()
            .create(
                {
                    "name": "Question",
                    "description": "?",
                    "partner_id": self.other_customer.id,
                }
            )
        )
        self.assertNotEqual(other.user_id, self.expert)

    def test_negative_hours_refused(self):
        with self.assertRaises(ValidationError):
            self.pack_product.success_pack_hours = -1
