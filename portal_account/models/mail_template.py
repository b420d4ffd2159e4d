# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from lxml import html
from markupsafe import Markup

from odoo import api, models
from odoo.tools import safe_eval


class MailTemplate(models.Model):
    _inherit = "mail.template"

    @api.model
    def _render_template_qweb(
        self, template_src, model, res_ids, add_context=None, options=None
    ):
        """Compile a QWeb body once for all the records it is rendered for.

        Under the renewal engine's context key only: core compiles an inline
        QWeb body again for each record, which is most of the cost of queueing
        the same email to thousands of customers. The rendering itself is
        core's: the same values, options and restrictions, one compiled
        function (``tests/test_mail_template.py`` compares the bodies). Any
        failure is left to core's own loop, which reports it for the record at
        fault.
        """
        if (
            not self.env.context.get("subscription_renewal")
            or len(res_ids) < 2
            or not template_src
            or not self._has_unsafe_expression_template_qweb(template_src, model)
        ):
            return super()._render_template_qweb(
                template_src, model, res_ids, add_context=add_context, options=options
            )
        variables = self._render_eval_context()
        if add_context:
            variables.update(**add_context)
        options = dict(options or {})
        if (
            not self._unrestricted_rendering
            and not self.env.is_admin()
            and not self.env.user.has_group("mail.group_mail_template_editor")
        ):
            options["raise_on_forbidden_code_for_model"] = model
        IrQweb = self.env["ir.qweb"].with_context(**options)
        template = html.fragment_fromstring(template_src, create_parent="div")
        results, render = {}, None
        try:
            for record in self.env[model].browse(res_ids):
                values = dict(variables, object=record)
                qweb = IrQweb._prepare_environment(values)
                safe_eval.check_values(values)
                if render is None:
                    functions, def_name = qweb._compile(template)
                    render = functions[def_name]
                # Strip the <div> wrapping the template's nodes, as core does.
                results[record.id] = Markup("".join(render(qweb, values)))[5:-6]
        except Exception:
            return super()._render_template_qweb(
                template_src, model, res_ids, add_context=add_context, options=options
            )
        return results
