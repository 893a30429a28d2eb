"""Alembic environment: migrate the app's own database (Flask-Migrate supplies the app)."""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

from app.machinery import dbfile

config = context.config
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

db = current_app.extensions["migrate"].db


def skip_empty_autogenerate(context, revision, directives):
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        logger.info("No changes in schema detected.")


def run_migrations_online():
    conf_args = current_app.extensions["migrate"].configure_args
    conf_args.setdefault("process_revision_directives", skip_empty_autogenerate)
    if (path := dbfile.file_of(db.engine.url)) is not None:
        dbfile.create_if_missing(path)  # only the migrations create the database
    with db.engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=db.metadata,
            **conf_args,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
