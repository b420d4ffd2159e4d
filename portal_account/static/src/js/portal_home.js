/** @odoo-module */

import { PortalHomeCounters } from "@portal/js/portal";

PortalHomeCounters.include({
    /**
     * Subscriptions and tickets stay on /my even when there are none yet: they
     * are where a customer looks for them first.
     *
     * @override
     */
    _getCountersAlwaysDisplayed() {
        return this._super(...arguments).concat(["subscription_count", "ticket_count"]);
    },
});
