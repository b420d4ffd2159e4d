"""pytest setup shared by the repository's test runs (see scripts/test.sh)."""

import logging


class _DropTestFrameworkImportError(logging.Filter):
    """pytest-odoo 2.3.0 imports odoo.tests before it turns Odoo's test mode
    on, and Odoo 18 then logs an ERROR with a full stack ("Importing test
    framework, avoid importing from business modules ..."). Under pytest the
    import is expected, so that one record is dropped; all others pass."""

    def filter(self, record):
        return not (
            record.levelno == logging.ERROR
            and str(record.msg).startswith("Importing test framework")
        )


logging.getLogger("odoo.tests.common").addFilter(_DropTestFrameworkImportError())
