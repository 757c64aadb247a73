"""The storage tests: S3 fixtures come from tests/s3.py (through tests/conftest.py)."""

# The API's and the portal's own clients, so these tests go through the same doors.
from tests.api.conftest import api, customer_api, staff_api, staff_token  # noqa: F401
from tests.portal.conftest import request_data, send_request  # noqa: F401
