"""The entry point of the site's processes: gunicorn serves ``wsgi:app``, and ``flask --app
wsgi`` runs the commands."""

from app import create_app
from app.ops import exit_quickly

app = create_app()
exit_quickly(app)
