# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date
from unittest.mock import patch

from freezegun import freeze_time

from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.base.models.ir_qweb import IrQWeb

from .common import SubscriptionCommon


@tagged("post_install", "-at_install")
class TestMailTemplateBatchRendering(SubscriptionCommon):
    """A QWeb email body rendered for many records is compiled once."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with freeze_time("2026-01-01"):
            cls.subscriptions = cls._create_subscription() | cls._create_subscription(
                partner=cls.other_customer
            )
        cls.subscriptions[0].renewal_deadline = date(2026, 1, 8)
        cls.subscriptions[1].renewal_deadline = date(2026, 2, 8)
        cls.template = cls.env.ref("portal_account.mail_template_subscription_to_renew")

    def _count_compiles(self):
        return patch.object(
            IrQWeb, "_compile", autospec=True, side_effect=IrQWeb._compile
        )

    def test_batch_renders_as_one_by_one(self):
        one_by_one = {
            order.id: self.template._render_field("body_html", order.ids)[order.id]
            for order in self.subscriptions
        }
        engine_template = self.template.with_context(subscription_renewal=True)
        with self._count_compiles() as compile_:
            batch = engine_template._render_field("body_html", self.subscriptions.ids)
        self.assertEqual(compile_.call_count, 1)
        # Any other caller gets core's rendering, compiled for each record.
        with self._count_compiles() as compile_:
            core = self.template._render_field("body_html", self.subscriptions.ids)
        self.assertEqual(compile_.call_count, 2)
        self.assertEqual(core, one_by_one)
        self.assertEqual(batch, one_by_one)
        first, second = (batch[order.id] for order in self.subscriptions)
        self.assertIn("Acme Corp", first)
        self.assertIn("Globex", second)
        self.assertIn(
            f"/my/subscriptions/{self.subscriptions[1].id}/payment_method", second
        )
        self.assertIn("02/08/2026", second)

    def test_batch_error_reported_as_core_does(self):
        self.template.body_html = (
            '<p t-out="object.partner_id.name + object.partner_id.ref"/>'
        )
        self.subscriptions[0].partner_id.ref = "A1"
        with (
            mute_logger("odoo.addons.mail.models.mail_render_mixin"),
            self.assertRaisesRegex(UserError, "Failed to render QWeb template"),
        ):
            self.template.with_context(subscription_renewal=True)._render_field(
                "body_html", self.subscriptions.ids
            )
