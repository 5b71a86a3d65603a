"""opend-conformance: run any OpenD client against mock-opend and report, case
by numbered case, what it gets wrong.  See conformance/DRIVER.md."""

__version__ = "0.1.0"
