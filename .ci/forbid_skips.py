"""pytest plugin for .ci/extra-env: a skip whose reason matches a pattern fails the run.

The tests of the dask, onnx and fast extras fail instead of skipping where CI
asks for their packages (``SKBACKPROP_TEST_DASK=1`` and the like); those of
the array-api, progress and plot extras have no such switch and skip
(``pytest.importorskip``) where the package is missing. Loaded with

    PYTHONPATH=.ci python -m pytest -p forbid_skips --forbid-skip REGEX ...

this plugin fails the run when a test, or a whole module, was skipped for a
reason in which the regular expression ``REGEX`` is found (the option may be
repeated), so that an extra which stops installing its package cannot pass as
a row of skips.
"""

import re

import pytest


def pytest_addoption(parser):
    parser.addoption(
        "--forbid-skip", action="append", default=[], metavar="REGEX",
        help="fail the run if a skip reason matches REGEX (repeatable)",
    )


def pytest_configure(config):
    patterns = config.getoption("forbid_skip")
    if patterns:
        config.pluginmanager.register(_ForbiddenSkips(patterns), "forbidden-skips")


class _ForbiddenSkips:
    def __init__(self, patterns):
        self.patterns = [re.compile(p) for p in patterns]
        self.found = []

    def _check(self, report):
        if not report.skipped or hasattr(report, "wasxfail"):
            return
        longrepr = report.longrepr  # (path, line, reason) for a skip
        reason = str(longrepr[2] if isinstance(longrepr, tuple) else longrepr)
        if any(p.search(reason) for p in self.patterns):
            self.found.append(f"{report.nodeid}: {reason}")

    def pytest_collectreport(self, report):  # a module skipped as a whole
        self._check(report)

    def pytest_runtest_logreport(self, report):
        self._check(report)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session):
        if self.found and session.exitstatus == 0:
            session.exitstatus = 1

    def pytest_terminal_summary(self, terminalreporter):
        if self.found:
            terminalreporter.section("skips forbidden by --forbid-skip", red=True)
            for line in self.found:
                terminalreporter.line(line)
