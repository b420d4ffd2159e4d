# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Faults in the renewal engine: crashes, a provider that times out, races.

Every test ends with what a customer and an accountant would check: each
subscription in the right state with one invoice for the period and at most one
charge sent to the provider for it; nothing lost.
"""

import threading
import time
import uuid
from collections import Counter
from contextlib import ExitStack, contextmanager
from datetime import date
from unittest.mock import patch

import requests
from freezegun import freeze_time

from odoo import SUPERUSER_ID, Command, api, sql_db
from odoo.modules.registry import Registry
from odoo.tests import BaseCase, get_db_name, tagged

from ..models.account_move import PAID_STATES
from .common import (
    TEST_CARD_REF,
    SubscriptionCommon,
    card_network_answers,
    create_test_card_provider,
    model_class,
    settle_test_charge,
)

ENGINE_LOGGER = "odoo.addons.portal_account"


class ProviderSpy:
    """Count the charges sent to the provider, per subscription."""

    def __init__(self, env_or_registry):
        self.calls = Counter()
        self.fault = None  # callable(tx, call) run instead of the provider call
        Transaction = model_class(env_or_registry, "payment.transaction")
        original = Transaction._send_payment_request
        spy = self

        def send_payment_request(tx):
            spy.calls[tx.invoice_ids.subscription_id.id] += 1
            if spy.fault:
                return spy.fault(tx, lambda: original(tx))
            return original(tx)

        self.patcher = patch.object(
            Transaction, "_send_payment_request", send_payment_request
        )

    def __enter__(self):
        self.patcher.start()
        return self

    def __exit__(self, *exc):
        self.patcher.stop()


@tagged("post_install", "-at_install")
class TestRenewalFaults(SubscriptionCommon):
    """The engine as the scheduler runs it (a commit per unit of work)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with freeze_time("2026-01-01"):
            cls.card_subscriptions = cls.env["sale.order"]
            for _index in range(3):
                cls.card_subscriptions |= cls._create_subscription(
                    token=cls._create_token()
                )
            cls.grace_subscriptions = cls._create_subscription()
            cls.grace_subscriptions |= cls._create_subscription()

    # ------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------

    def _run_scheduler(self, day="2026-01-01"):
        """One run of the scheduled action, committing per unit of work.

        The test's own transaction cannot commit: the worker's cursor is a
        TestCursor on it, whose commit releases a savepoint and whose rollback
        goes back to the last commit, as a real cursor would.
        """
        self.env.flush_all()
        cursor = sql_db.TestCursor(self.env.cr, threading.RLock(), readonly=False)
        try:
            env = api.Environment(
                cursor, SUPERUSER_ID, {"subscription_renewal_commit": True}
            )
            with freeze_time(day):
                env["sale.order"]._cron_subscription_renewal()
                env["sale.order"]._cron_subscription_send_notices()
            cursor.commit()
        finally:
            cursor.close()
        self.env.invalidate_all()

    @contextmanager
    def _undone(self):
        """Undo what the block did, to replay a scenario from the same data."""
        savepoint = self.env.cr.savepoint(flush=False)
        try:
            yield
        finally:
            savepoint.close(rollback=True)
            self.env.invalidate_all()

    def _to_renew_mails(self, subscription):
        return self._queued_mails(subscription, "mail_template_subscription_to_renew")

    def _receipt_mails(self, subscription):
        return self._queued_mails(
            subscription, "mail_template_subscription_payment_done"
        )

    def _assert_renewed(self, subscriptions, spy):
        """One paid invoice, one done charge, one call to the provider each."""
        for subscription in subscriptions:
            invoice = self._period_invoices(subscription)
            self.assertEqual(len(invoice), 1, subscription.name)
            self.assertIn(invoice.payment_state, PAID_STATES, subscription.name)
            self.assertEqual(
                self._transactions(invoice).mapped("state"), ["done"], subscription.name
            )
            self.assertEqual(spy.calls[subscription.id], 1, subscription.name)
            self.assertEqual(subscription.subscription_state, "in_progress")
            self.assertEqual(subscription.next_invoice_date, date(2026, 2, 1))
            self.assertFalse(subscription.renewal_deadline)

    def _assert_grace_opened(self, subscriptions):
        for subscription in subscriptions:
            self.assertEqual(subscription.subscription_state, "to_renew")
            self.assertEqual(subscription.renewal_deadline, date(2026, 1, 8))
            self.assertFalse(self._period_invoices(subscription))
            self.assertEqual(len(self._to_renew_mails(subscription)), 1)

    # ------------------------------------------------------------
    # A crash at the k-th subscription, then a rerun
    # ------------------------------------------------------------

    def _inject(self, stack, point, target, spy):
        """Make the work on ``target`` fail at ``point`` (first run only)."""
        SaleOrder = type(self.env["sale.order"])
        Transaction = type(self.env["payment.transaction"])

        def fail(*_args):
            raise RuntimeError(f"fault injected at {point}")

        if point == "invoice":
            original = SaleOrder._renewal_create_invoices

            def create_invoices(orders):
                return fail() if target in orders else original(orders)

            stack.enter_context(
                patch.object(SaleOrder, "_renewal_create_invoices", create_invoices)
            )
        elif point == "provider_answer_lost":
            # The provider charged the card, the answer never came back.
            def call_then_fail(tx, call):
                call()
                if tx.invoice_ids.subscription_id == target:
                    fail()

            spy.fault = call_then_fail
        elif point == "post_processing":
            original = Transaction._post_process

            def post_process(txs):
                if target in txs.invoice_ids.subscription_id:
                    fail()
                return original(txs)

            stack.enter_context(
                patch.object(Transaction, "_post_process", post_process)
            )
        elif point in ("grace_mail", "receipt_mail"):
            original = SaleOrder._subscription_send_mail

            def send_mail(orders, template_xmlid):
                if target in orders:
                    fail()
                return original(orders, template_xmlid)

            stack.enter_context(
                patch.object(SaleOrder, "_subscription_send_mail", send_mail)
            )

    def test_fault_at_kth_subscription_then_rerun(self):
        cases = [
            (point, k)
            for point in ("invoice", "provider_answer_lost", "post_processing")
            for k in range(len(self.card_subscriptions))
        ]
        cases += [("grace_mail", k) for k in range(len(self.grace_subscriptions))]
        cases += [("receipt_mail", k) for k in range(len(self.card_subscriptions))]
        for point, k in cases:
            with (
                self.subTest(point=point, k=k),
                self._undone(),
                ProviderSpy(self.env) as spy,
            ):
                pool = (
                    self.grace_subscriptions
                    if point == "grace_mail"
                    else self.card_subscriptions
                )
                target = pool.sorted("id")[k]
                with ExitStack() as stack:
                    self._inject(stack, point, target, spy)
                    with self.assertLogs(ENGINE_LOGGER, "ERROR"):
                        self._run_scheduler()
                spy.fault = None

                # What the crash left: the target's unit of work undone, or its
                # charge on record and waiting for the provider.
                others = self.card_subscriptions - target
                self._assert_renewed(others, spy)
                invoice = self._period_invoices(target)
                if point == "invoice":
                    self.assertFalse(invoice)
                    self.assertEqual(spy.calls[target.id], 0)
                elif point == "grace_mail":
                    # The grace periods opened; only the target's notice waits.
                    self.assertEqual(
                        set(self.grace_subscriptions.mapped("subscription_state")),
                        {"to_renew"},
                    )
                    self.assertFalse(self._to_renew_mails(target))
                    self.assertEqual(target.subscription_notice, "to_renew")
                    for other in self.grace_subscriptions - target:
                        self.assertEqual(len(self._to_renew_mails(other)), 1)
                        self.assertFalse(other.subscription_notice)
                elif point == "receipt_mail":
                    # The payment is recorded; only the customer's receipt waits.
                    self._assert_renewed(self.card_subscriptions, spy)
                    self.assertFalse(self._receipt_mails(target))
                    self.assertEqual(target.subscription_notice, "paid")
                    for other in self.card_subscriptions - target:
                        self.assertEqual(len(self._receipt_mails(other)), 1)
                elif point == "provider_answer_lost":
                    self.assertEqual(invoice.payment_state, "not_paid")
                    self.assertEqual(
                        self._transactions(invoice).mapped("state"), ["draft"]
                    )
                    self.assertEqual(target.next_invoice_date, date(2026, 1, 1))
                else:
                    # The provider's answer is on record: the charge went
                    # through and waits for its payment to be made.
                    transaction = self._transactions(invoice)
                    self.assertEqual(invoice.payment_state, "not_paid")
                    self.assertEqual(transaction.mapped("state"), ["done"])
                    self.assertFalse(transaction.is_post_processed)
                    self.assertFalse(transaction.payment_id)
                    self.assertEqual(target.next_invoice_date, date(2026, 1, 1))

                # The rerun does what was left, and never charges again a
                # charge whose outcome is unknown.
                with self.assertNoLogs(ENGINE_LOGGER, "ERROR"):
                    self._run_scheduler()
                    self._run_scheduler()
                if point in ("provider_answer_lost", "post_processing"):
                    self.assertEqual(spy.calls[target.id], 1)
                    self.assertEqual(target.next_invoice_date, date(2026, 1, 1))
                    settle_test_charge(self._transactions(invoice), "done")
                    self._run_scheduler()
                self._assert_renewed(self.card_subscriptions, spy)
                self._assert_grace_opened(self.grace_subscriptions)
                for subscription in self.card_subscriptions:
                    self.assertEqual(len(self._receipt_mails(subscription)), 1)
                    self.assertFalse(subscription.subscription_notice)

    # ------------------------------------------------------------
    # A provider that times out, or leaves the payment pending
    # ------------------------------------------------------------

    def test_provider_timeout(self):
        paid, declined, silent = self.card_subscriptions.sorted("id")

        def time_out(tx, call):
            raise requests.exceptions.Timeout("the provider did not answer")

        with ProviderSpy(self.env) as spy:
            spy.fault = time_out
            with self.assertLogs(ENGINE_LOGGER, "ERROR") as logs:
                self._run_scheduler()
            self.assertEqual(len(logs.records), 3)
            spy.fault = None
            # Same day, next day: the charges are under way, none is sent again.
            for day in ("2026-01-01", "2026-01-01", "2026-01-02"):
                self._run_scheduler(day)
            self.assertEqual(
                dict(spy.calls), dict.fromkeys(self.card_subscriptions.ids, 1)
            )
            for subscription in self.card_subscriptions:
                invoice = self._period_invoices(subscription)
                self.assertEqual(len(invoice), 1)
                self.assertEqual(self._transactions(invoice).mapped("state"), ["draft"])
                self.assertEqual(subscription.subscription_state, "in_progress")
                self.assertEqual(subscription.next_invoice_date, date(2026, 1, 1))

            # The provider answers at last: paid for one, declined for another;
            # the third never answers.
            settle_test_charge(self._transactions(self._period_invoices(paid)), "done")
            self._set_card_outcome(declined.payment_token_id, "error")
            settle_test_charge(
                self._transactions(self._period_invoices(declined)), "error"
            )
            self._run_scheduler("2026-01-03")

        self._assert_renewed(paid, spy)
        # A declined charge may be tried again (it took no money): it fails
        # again and opens the grace period, counted from the renewal date.
        invoice = self._period_invoices(declined)
        self.assertEqual(len(invoice), 1)
        self.assertEqual(invoice.payment_state, "not_paid")
        self.assertEqual(
            self._transactions(invoice).mapped("state"), ["error", "error"]
        )
        self.assertEqual(declined.subscription_state, "to_renew")
        self.assertEqual(declined.renewal_deadline, date(2026, 1, 8))
        # No answer: still waiting, charged once, never twice.
        invoice = self._period_invoices(silent)
        self.assertEqual(self._transactions(invoice).mapped("state"), ["draft"])
        self.assertEqual(spy.calls[silent.id], 1)
        self.assertEqual(silent.subscription_state, "in_progress")
        self._assert_grace_opened(self.grace_subscriptions)

    def test_provider_leaves_payment_pending(self):
        def pending(tx, call):
            tx._set_pending()

        with ProviderSpy(self.env) as spy:
            spy.fault = pending
            with self.assertNoLogs(ENGINE_LOGGER, "ERROR"):
                self._run_scheduler()
            spy.fault = None
            self._run_scheduler()
            self._run_scheduler("2026-01-02")
            for subscription in self.card_subscriptions:
                invoice = self._period_invoices(subscription)
                self.assertEqual(
                    self._transactions(invoice).mapped("state"), ["pending"]
                )
                self.assertEqual(subscription.subscription_state, "in_progress")
                settle_test_charge(self._transactions(invoice), "done")
            self._run_scheduler("2026-01-02")
        self._assert_renewed(self.card_subscriptions, spy)


@tagged("post_install", "-at_install")
class TestRenewalConcurrency(BaseCase):
    """Two workers and a portal payment at once: real, separate transactions.

    The data is committed into the test database by the test itself and deleted
    at the end; the engine is limited to it, so that nothing else in the
    database is touched.
    """

    DAY = "2030-01-01"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry = Registry(get_db_name())
        cls.tag = f"portal_account race {uuid.uuid4().hex[:8]}"

    def setUp(self):
        super().setUp()
        self.addCleanup(self._delete_data)
        with self.registry.cursor() as cr, freeze_time(self.DAY):
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            self.ids = self._create_data(env)
        # The engine sees this test's subscriptions only.
        SaleOrder = model_class(self.registry, "sale.order")
        domain = SaleOrder._renewal_due_domain
        ids = self.ids["subscriptions"]
        for patcher in (
            card_network_answers(self.registry),
            patch.object(
                SaleOrder,
                "_renewal_due_domain",
                lambda model, today: [("id", "in", ids)] + domain(model, today),
            ),
            patch.object(
                SaleOrder,
                "_renewal_warn_card_expiry",
                lambda model, today: model.browse(),
            ),
        ):
            patcher.start()
            self.addCleanup(patcher.stop)

    def _create_data(self, env):
        card = env.ref("payment.payment_method_unknown")
        self.card_method_values = card.read(["active", "support_tokenization"])[0]
        self.had_test_method = bool(
            env["account.payment.method"].search_count([("code", "=", "none")])
        )
        provider = create_test_card_provider(env, name=self.tag)
        customer = env["res.partner"].create(
            {"name": self.tag, "is_company": True, "email": "race@example.com"}
        )
        plan = env["subscription.plan"].create(
            {
                "name": self.tag,
                "billing_period_value": 1,
                "billing_period_unit": "month",
            }
        )
        product = env["product.product"].create(
            {
                "name": self.tag,
                "type": "service",
                "list_price": 50.0,
                "taxes_id": [Command.clear()],
            }
        )

        def token(**values):
            return env["payment.token"].create(
                {
                    "provider_id": provider.id,
                    "payment_method_id": provider.payment_method_ids[:1].id,
                    "payment_details": "4242",
                    "partner_id": customer.id,
                    "provider_ref": TEST_CARD_REF.format(outcome="done"),
                    **values,
                }
            )

        subscriptions = env["sale.order"]
        for index in range(5):
            order = env["sale.order"].create(
                {
                    "partner_id": customer.id,
                    "subscription_plan_id": plan.id,
                    "subscription_start_date": date(2030, 1, 1),
                    "client_order_ref": self.tag,
                    "order_line": [Command.create({"product_id": product.id})],
                }
            )
            order.action_confirm()
            if index < 4:
                order.payment_token_id = token()
            subscriptions |= order
        return {
            "partner": customer.id,
            "plan": plan.id,
            "product": product.id,
            "subscriptions": subscriptions.ids,
            "spare_token": token().id,
        }

    def _delete_data(self):
        """Delete everything the test committed (accounting included)."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"active_test": False})
            partners = env["res.partner"].search(
                [("name", "=like", "portal_account race %")]
            )
            orders = env["sale.order"].search([("partner_id", "in", partners.ids)])
            payments = env["account.payment"].search(
                [("partner_id", "in", partners.ids)]
            )
            payments.action_draft()
            payments.unlink()
            moves = env["account.move"].search([("partner_id", "in", partners.ids)])
            moves.filtered(lambda move: move.state != "draft").button_draft()
            moves.with_context(force_delete=True).unlink()
            env["payment.transaction"].search(
                [("partner_id", "in", partners.ids)]
            ).unlink()
            env["mail.mail"].search(
                [("model", "=", "sale.order"), ("res_id", "in", orders.ids)]
            ).unlink()
            orders._action_cancel()
            orders.unlink()
            env["payment.token"].search([("partner_id", "in", partners.ids)]).unlink()
            providers = env["payment.provider"].search([("name", "=", self.tag)])
            providers.state = "disabled"
            env["account.payment.method.line"].search(
                [("payment_provider_id", "in", providers.ids)]
            ).unlink()
            providers.unlink()
            if not getattr(self, "had_test_method", True):
                env["account.payment.method"].search([("code", "=", "none")]).unlink()
            card_values = dict(getattr(self, "card_method_values", {}), id=None)
            card_values.pop("id")
            if card_values:
                env.ref("payment.payment_method_unknown").write(card_values)
            env["subscription.plan"].search(
                [("name", "=like", "portal_account race %")]
            ).unlink()
            env["product.product"].search(
                [("name", "=like", "portal_account race %")]
            ).product_tmpl_id.unlink()
            partners.unlink()

    # ------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------

    @contextmanager
    def _worker(self):
        """A cursor of its own, committed at the end, as a cron worker has."""
        with self.registry.cursor() as cr:
            yield api.Environment(
                cr, SUPERUSER_ID, {"subscription_renewal_commit": True}
            )

    def _run_worker(self):
        """A run of the renewal engine, then of the notices it triggered."""
        with self._worker() as env, freeze_time(self.DAY):
            done = env["sale.order"]._cron_subscription_renewal()
            env["sale.order"]._cron_subscription_send_notices()
            return done

    def _subscriptions_state(self):
        """Per subscription: state, next date, invoices and charges."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            outcome = {}
            for order in env["sale.order"].browse(self.ids["subscriptions"]):
                invoices = env["account.move"].search(
                    [("subscription_id", "=", order.id), ("state", "!=", "cancel")]
                )
                transactions = env["payment.transaction"].search(
                    [("invoice_ids", "in", invoices.ids)]
                )
                mails = env["mail.mail"].search_count(
                    [("model", "=", "sale.order"), ("res_id", "=", order.id)]
                )
                outcome[order.id] = {
                    "state": order.subscription_state,
                    "next": str(order.next_invoice_date),
                    "periods": sorted(
                        str(d) for d in invoices.mapped("subscription_period_start")
                    ),
                    "paid": all(i.payment_state in PAID_STATES for i in invoices),
                    "charges": sorted(transactions.mapped("state")),
                    "mails": mails,
                }
            return outcome

    def _assert_one_period_each(self, spy):
        """Every card subscription billed and charged once, the other in grace."""
        outcome = self._subscriptions_state()
        card_ids, (grace_id,) = (
            self.ids["subscriptions"][:4],
            self.ids["subscriptions"][4:],
        )
        for order_id in card_ids:
            self.assertEqual(
                outcome[order_id],
                {
                    "state": "in_progress",
                    "next": "2030-02-01",
                    "periods": ["2030-01-01"],
                    "paid": True,
                    "charges": ["done"],
                    "mails": 1,  # payment done
                },
                order_id,
            )
            self.assertEqual(spy.calls[order_id], 1, order_id)
        self.assertEqual(outcome[grace_id]["state"], "to_renew")
        self.assertEqual(outcome[grace_id]["periods"], [])
        self.assertEqual(outcome[grace_id]["mails"], 1)

    # ------------------------------------------------------------
    # Tests
    # ------------------------------------------------------------

    def test_portal_payment_holds_the_lock(self):
        """A customer paying from the portal while the scheduled action runs."""
        grace_id = self.ids["subscriptions"][4]
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            with freeze_time(self.DAY):
                env["sale.order"].browse(grace_id).write(
                    {
                        "subscription_state": "to_renew",
                        "renewal_deadline": date(2030, 1, 8),
                        "subscription_checked_date": False,
                    }
                )
        with ProviderSpy(self.registry) as spy, freeze_time(self.DAY):
            with self.registry.cursor() as portal_cr:
                portal = api.Environment(portal_cr, SUPERUSER_ID, {})
                subscription = portal["sale.order"].browse(grace_id)
                self.assertEqual(
                    subscription._subscription_lock(wait=True), subscription
                )
                # The worker runs meanwhile: it skips the row the portal holds.
                with self.assertNoLogs(ENGINE_LOGGER, "ERROR"):
                    self._run_worker()
                before = self._subscriptions_state()[grace_id]
                self.assertEqual(before["periods"], [])
                self.assertEqual(before["state"], "to_renew")
                # The portal goes on: new card, charged at once, committed.
                token = portal["payment.token"].browse(self.ids["spare_token"])
                self.assertTrue(subscription._subscription_set_payment_token(token))
            # The worker runs again: nothing left to do for it.
            with self.assertNoLogs(ENGINE_LOGGER, "ERROR"):
                self._run_worker()
            after = self._subscriptions_state()[grace_id]
        self.assertEqual(after["state"], "in_progress")
        self.assertEqual(after["next"], "2030-02-01")
        self.assertEqual(after["periods"], ["2030-01-01"])
        self.assertEqual(after["charges"], ["done"])
        self.assertTrue(after["paid"])
        self.assertEqual(spy.calls[grace_id], 1)

    def test_worker_acts_on_what_it_locked(self):
        """A worker whose batch another worker renewed meanwhile renews nothing."""
        SaleOrder = model_class(self.registry, "sale.order")
        original = SaleOrder._renewal_lock
        state = {"cursor": None, "other_done": False}

        def lock_batch(orders, *args):
            if orders.env.cr is state["cursor"] and not state["other_done"]:
                # The first worker has read its batch; the second one runs it
                # all and commits before the first one takes its locks.
                state["other_done"] = True
                self._run_worker()
            return original(orders, *args)

        with (
            ProviderSpy(self.registry) as spy,
            patch.object(SaleOrder, "_renewal_lock", lock_batch),
        ):
            with (
                self.assertNoLogs(ENGINE_LOGGER, "ERROR"),
                self._worker() as env,
                freeze_time(self.DAY),
            ):
                state["cursor"] = env.cr
                env["sale.order"]._cron_subscription_renewal()
                self.assertTrue(state["other_done"])
            self._run_worker()
        self._assert_one_period_each(spy)

    def test_two_workers_at_once(self):
        """Two workers started together on the same subscriptions."""
        barrier = threading.Barrier(2, timeout=30)
        errors, handled = [], []

        def slow_charge(tx, call):
            time.sleep(0.2)  # long enough for the workers to overlap
            return call()

        def work():
            try:
                with self._worker() as env:
                    barrier.wait()
                    handled.append(env["sale.order"]._cron_subscription_renewal())
            except Exception as error:  # noqa: BLE001 (reported below)
                errors.append(error)

        with ProviderSpy(self.registry) as spy, freeze_time(self.DAY):
            spy.fault = slow_charge
            threads = [threading.Thread(target=work) for _index in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            spy.fault = None
            # What a worker left (skipped rows) is done by the next run.
            handled.append(self._run_worker())
        self.assertEqual(errors, [])
        # How the work is shared depends on scheduling; that each subscription
        # was handled by exactly one of the runs does not.
        self.assertEqual(sum(handled), len(self.ids["subscriptions"]), handled)
        self._assert_one_period_each(spy)
