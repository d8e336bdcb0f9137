"""Reading the site's pages in tests."""

from __future__ import annotations


def page_text(client, url: str) -> str:  # noqa: ANN001 (a Flask test client)
    """The HTML of ``url``, which must answer 200."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)
