"""The yardstick of bench/load.sh: a minimal Flask app answering a body of a given size.

``GET /bytes/<n>`` returns n bytes of HTML-ish text (built once per size), so each page is
compared with the fastest Flask can answer a body of the same size on the same server.
"""

from functools import cache

from flask import Flask, Response

app = Flask(__name__)


@cache
def _body(size: int) -> bytes:
    line = b"<p>Estado Abierto minimal body</p>\n"
    return (line * (size // len(line) + 1))[:size]


@app.get("/bytes/<int:size>")
def body(size: int) -> Response:
    return Response(_body(min(size, 10_000_000)), mimetype="text/html")
