"""The admin API's OpenAPI document: served, valid, and true of the real endpoints.

Schemathesis generates requests from the document (valid ones and, through its
negative mode, invalid ones) and checks every answer: no 5xx, a status code the
document lists, the documented content type, and a body that fits the schema.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from conftest import admin_call
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis.checks import positive_data_acceptance

from mock_opend.openapi import document
from mock_opend.server import MockOpenD

schema = schemathesis.openapi.from_dict(document())
# Bodies whose validity a schema cannot say, so a schema-valid one may rightly get 400: a clock
# change must keep the clock in [2000, 2100) from wherever it is now; a fault's fields depend on
# each other (latency needs latency_ms > 0, a null count needs a duration); a stub's request and
# reply must be the messages of its protocol id.  Every other check still applies to them.
STATEFUL_VALIDITY = {"/__admin/clock", "/__admin/faults", "/__admin/stubs"}


@pytest.fixture(scope="module")
def admin_server() -> Iterator[MockOpenD]:
    server = MockOpenD(port=0, ws_port="off", admin_port=0, now="2026-06-15").start_background()
    yield server
    server.stop_background()


def test_the_document_is_served_and_valid(admin_server: MockOpenD) -> None:
    status, served = admin_call(admin_server.admin_port, "GET", "/openapi.json")
    assert status == 200 and served == document()
    validate(served)
    _, health = admin_call(admin_server.admin_port, "GET", "/health")
    listed = {e.split(" ", 1)[1].replace("<id>", "{}") for e in health["endpoints"]}
    documented = {p.replace("{fault_id}", "{}").replace("{stub_id}", "{}") for p in served["paths"]}
    assert listed == documented  # every endpoint is documented, and nothing else


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_admin_api_fuzzed_from_its_document(case: schemathesis.Case, admin_server: MockOpenD) -> None:
    excluded = []
    if case.method == "POST" and case.path in STATEFUL_VALIDITY:
        excluded.append(positive_data_acceptance)
    case.call_and_validate(base_url=f"http://127.0.0.1:{admin_server.admin_port}", excluded_checks=excluded)
