"""Head office's WSGI entry point for gunicorn and the ``flask --app headoffice_wsgi`` commands
(docs/chain.md)."""

from app.headoffice import create_headoffice_app

app = create_headoffice_app()
