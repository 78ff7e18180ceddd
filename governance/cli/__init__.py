"""The ``review-gov`` command line."""

import typer

from governance.cli import pii

app = typer.Typer(help="GDPR data-governance jobs for customer reviews.", no_args_is_help=True)
app.add_typer(pii.app, name="pii")
