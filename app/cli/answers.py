"""The CLI's answer to a refusal of the rules, from the one table of answers (app.errors)."""

from contextlib import contextmanager

import click

from ..errors import answer_for
from ..exceptions import DomainError, InvalidInput


def message(err: DomainError) -> str:
    return answer_for(err).message.format(err=err)


@contextmanager
def refusals():
    """A refusal of the rules: its message on stderr, exit status 1, nothing on stdout."""
    try:
        yield
    except DomainError as err:
        fields = err.errors.items() if isinstance(err, InvalidInput) else ()
        details = [f"{field}: {text}" for field, texts in fields for text in texts]
        raise click.ClickException(" ".join([message(err) + ".", *details])) from None
