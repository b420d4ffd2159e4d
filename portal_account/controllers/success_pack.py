# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import http
from odoo.http import request

from odoo.addons.portal.controllers.portal import CustomerPortal


class SuccessPackPortal(CustomerPortal):
    """Success Packs under /my."""

    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        if "success_pack_count" in counters:
            SuccessPack = request.env["success.pack"]
            values["success_pack_count"] = (
                SuccessPack.search_count(
                    self._prepare_success_packs_domain(request.env.user.partner_id)
                )
                if SuccessPack.has_access("read")
                else 0
            )
        return values

    def _prepare_success_packs_domain(self, partner):
        return [("partner_id", "child_of", [partner.commercial_partner_id.id])]

    @http.route("/my/success_packs", type="http", auth="user", website=True)
    def portal_my_success_packs(self, **kw):
        SuccessPack = request.env["success.pack"]
        values = self._prepare_portal_layout_values()
        packs = (
            SuccessPack.search(
                self._prepare_success_packs_domain(request.env.user.partner_id),
                order="state asc, id desc",
            )
            if SuccessPack.has_access("read")
            else SuccessPack
        )
        values.update(
            {
                # Read as superuser for the rendering only (the expert is an
                # internal user): the search above applied the customer's rights.
                "success_packs": packs.sudo(),
                "page_name": "success_pack",
            }
        )
        return request.render("portal_account.portal_my_success_packs", values)
