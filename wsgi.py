"""The site and its commands as one process: gunicorn serves ``wsgi:app``, ``flask --app wsgi``
runs the commands."""

from app import create_app
from app.ops import exit_quickly

app = create_app()
exit_quickly(app)
