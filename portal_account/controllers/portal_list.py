# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields
from odoo.tools.misc import DATE_LENGTH


class PortalListMixin:
    """Checks of the query parameters of the /my lists.

    Core and OCA look the sort and group keys up, convert the page and filter
    on the dates and the search as they come: an unknown key, a page such as
    ``²``, a date that does not exist or a NUL character is a server error
    there. The list overrides pass their parameters through these checks
    before calling them, so that anything else falls back on the default.
    """

    @staticmethod
    def _portal_key(value, keys, default=None):
        """``value`` if it is one of ``keys``, else ``default``."""
        return value if value in keys else default

    @staticmethod
    def _portal_page(value):
        """``value`` as a page number, else the first page.

        The pager brings a number past the last page back to the last one.
        """
        try:
            return max(int(value), 1)
        except (TypeError, ValueError):
            return 1

    @staticmethod
    def _portal_date(value):
        """``value`` as a date (or datetime) string PostgreSQL reads, else None."""
        if not isinstance(value, str):
            return None
        try:
            moment = fields.Datetime.to_datetime(value)
        except ValueError:
            return None
        if not moment:
            return None
        # Written again in ASCII digits, which strptime() does not require. A
        # date stays a date: the ORM compares it with the whole day.
        if len(value) == DATE_LENGTH:
            return moment.date().isoformat()
        return moment.isoformat(" ")

    @classmethod
    def _portal_dates(cls, date_begin, date_end):
        """Both dates checked, or neither: the lists filter on both or none."""
        date_begin, date_end = cls._portal_date(date_begin), cls._portal_date(date_end)
        if date_begin and date_end:
            return date_begin, date_end
        return None, None

    @staticmethod
    def _portal_text(value):
        """``value`` without the NUL characters PostgreSQL refuses in a string."""
        return value.replace("\x00", "") if isinstance(value, str) else value
