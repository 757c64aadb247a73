"""The interactive API docs load nothing from third parties (these machines, and many bureaus'
networks, reach no CDN)."""


def test_the_api_docs_page_serves_swagger_from_our_own_static_files(client):
    response = client.get("/api/v1/docs")

    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/ninja/swagger-ui" in page
    assert "cdn." not in page
