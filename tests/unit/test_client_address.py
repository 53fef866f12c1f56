"""Whose address the login and SMS limits count and the audit records: behind the console's CloudFront
the viewer's, proven by the edge's secret header; without it the connection's, whatever a client wrote."""
from __future__ import annotations

from chalicelib.api.common import viewer_address

SECRET = "s3cr3t-from-secrets-manager"


def test_through_the_edge_the_viewer_cloudfront_saw_not_the_edge_nor_what_the_viewer_wrote():
    headers = {"x-sentinel-edge": SECRET, "x-forwarded-for": "6.6.6.6, 203.0.113.7, 130.176.1.1"}
    assert viewer_address("130.176.1.1", headers, SECRET) == "203.0.113.7"
    ipv6 = {"x-sentinel-edge": SECRET, "x-forwarded-for": "2001:db8::7, 130.176.1.1"}
    assert viewer_address("130.176.1.1", ipv6, SECRET) == "2001:db8::7"


def test_a_forged_or_missing_edge_header_is_the_connection():
    forged = {"x-sentinel-edge": "guess", "x-forwarded-for": "1.2.3.4, 5.6.7.8"}
    assert viewer_address("198.51.100.9", forged, SECRET) == "198.51.100.9"
    assert viewer_address("198.51.100.9", {"x-forwarded-for": "1.2.3.4, 5.6.7.8"}, SECRET) == "198.51.100.9"
    # a stage without the edge secret (local, tests) never reads a header, even one that names it
    assert viewer_address("127.0.0.1", {"x-sentinel-edge": "", "x-forwarded-for": "1.2.3.4, 5.6.7.8"}, "") == "127.0.0.1"
    assert viewer_address("130.176.1.1", {"x-sentinel-edge": SECRET}, SECRET) == "130.176.1.1"
