# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Hypothesis, when it is installed (requirements-test.txt).

The property tests need it; the addon does not, so it is not an external
dependency of the manifest. Without it, under either test runner, each
property test is skipped with the reason, and every other test still runs.
"""

import functools
import unittest

try:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
except ImportError:
    SKIP_REASON = (
        "hypothesis is not installed: pip install -r requirements-test.txt "
        "to run the property tests"
    )

    class _Anything:
        """Stands for hypothesis' strategies and settings at import time."""

        def __getattr__(self, name):
            return self

        def __call__(self, *args, **kwargs):
            # Used as a decorator (``@settings(...)``): the test is kept.
            if len(args) == 1 and not kwargs and callable(args[0]):
                if not isinstance(args[0], _Anything):
                    return args[0]
            return self

    HealthCheck = settings = st = _Anything()

    def given(*_args, **_kwargs):
        def decorate(test):
            @functools.wraps(test)
            def skipped(self, *args, **kwargs):
                raise unittest.SkipTest(SKIP_REASON)

            return skipped

        return decorate


__all__ = ["HealthCheck", "given", "settings", "st"]
