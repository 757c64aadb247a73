"""The OpenAPI description at /api/v1/openapi.json: what other tools build clients from."""

import re

from tests.api.endpoints import ALL, PUBLIC_PATHS


def _documented(path: str) -> str:
    # Our table writes {ref}, {file_id}, {run_id}; the description names the view's parameters.
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_it_describes_every_endpoint(api):
    response = api.get("/openapi.json")

    assert response.status_code == 200
    spec = response.json()
    assert spec["info"]["title"] == "printdesk API"
    documented = {
        (_documented(path), method.upper())
        for path, operations in spec["paths"].items()
        for method in operations
    }
    expected = {(_documented("/api/v1" + e.path), e.method) for e in ALL} | {
        ("/api/v1/catalogue", "GET"),
        ("/api/v1/requests", "POST"),
        ("/api/v1/auth/token", "POST"),
    }
    assert {_documented("/api/v1" + p) for p in PUBLIC_PATHS} <= {p for p, _ in expected}
    assert documented == expected


def test_it_describes_how_to_authenticate(api):
    spec = api.get("/openapi.json").json()

    schemes = spec["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} >= {"http", "apiKey"}
    assert any(s.get("name") == "X-Job-Link" for s in schemes.values())
    token = spec["paths"]["/api/v1/auth/token"]["post"]
    assert "security" not in token or token["security"] == []


def test_it_documents_errors_with_their_shape(api):
    spec = api.get("/openapi.json").json()

    cancel = spec["paths"]["/api/v1/jobs/{reference}/cancel"]["post"]
    assert {"401", "404", "409", "422"} <= set(cancel["responses"])
    assert set(spec["components"]["schemas"]["ErrorOut"]["required"]) == {"message", "code"}
