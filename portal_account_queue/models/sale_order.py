# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

from odoo.addons.portal_account.models.sale_order_renewal import RENEWAL_BATCH_SIZE
from odoo.addons.portal_account.tools.work_units import engine_env
from odoo.addons.queue_job.job import identity_exact

RENEWAL_CHANNEL = "root.subscription_renewal"


class SaleOrder(models.Model):
    _inherit = "sale.order"

    # ------------------------------------------------------------
    # Renewal engine, fanned out to queue jobs
    # ------------------------------------------------------------

    @api.model
    def _cron_subscription_renewal(self, batch_size=RENEWAL_BATCH_SIZE):
        """Enqueue the day's renewals as batch jobs, for any job runner to run.

        The engine is the same: each job runs its step for one batch
        (:meth:`_subscription_renewal_job`). With ``subscription_renewal_inline``
        in the context, the run is done here, on ``ir.cron``, as without this
        module.
        """
        if self.env.context.get("subscription_renewal_inline"):
            return super()._cron_subscription_renewal(batch_size=batch_size)
        today = fields.Date.context_today(self)
        engine_env(self)._renewal_send_advance_notices(today)
        jobs = self._subscription_renewal_enqueue(today, batch_size)
        self.env["ir.cron"]._notify_progress(done=len(jobs), remaining=0)
        return len(jobs)

    @api.model
    def _subscription_renewal_enqueue(self, today, batch_size):
        """Enqueue one job per batch of the subscriptions due ``today``.

        The batches are those the engine would work through, in its order.
        A batch already waiting in the queue is not enqueued again (the same
        batch, the same day), so that running the action twice queues it once.
        Return the jobs enqueued.
        """
        orders = self.search(
            self._renewal_due_domain(today), order="next_invoice_date, id"
        )
        jobs = []
        for start in range(0, len(orders), batch_size):
            batch = orders[start : start + batch_size]
            jobs.append(
                batch.with_delay(
                    channel=RENEWAL_CHANNEL,
                    identity_key=identity_exact,
                    description=self.env._(
                        "Subscription renewals of %(day)s: %(first)s to %(last)s",
                        day=today,
                        first=batch[:1].name,
                        last=batch[-1:].name,
                    ),
                )._subscription_renewal_job(today)
            )
        return jobs

    def _subscription_renewal_job(self, today):
        """One batch of the renewal run, as a queue job.

        The engine's own batch step, committing per unit of work as on
        ``ir.cron``: the rows are locked (another job's, a portal payment's are
        skipped and left to the next run), what is no longer due once locked is
        left alone, and the unique period index refuses a second invoice. A
        job run twice, or retried after it was killed, does only what is left.
        """
        orders = engine_env(self)
        handled = orders._renewal_run(fields.Date.to_date(today))
        return self.env._(
            "%(handled)s of %(count)s subscriptions handled.",
            handled=len(handled),
            count=len(self),
        )
