"""Command-line tools: `flask --app app create-admin | demo-data | seed-bench | check-history`."""
from __future__ import annotations

import click
from flask import Flask
from sqlalchemy import select

from portal.extensions import db


def register_cli(app: Flask) -> None:
    from portal import search

    search.init_app(app)  # `search-reindex`

    from portal import backup

    backup.register(app)  # `backup`, `restore-check`, `restore`

    from portal.core import storage

    storage.register(app)  # `storage-copy-local`

    @app.cli.command("create-admin")
    @click.option("--username", prompt=True)
    @click.option("--display-name", default="")
    @click.password_option()
    def create_admin(username: str, display_name: str, password: str):
        """Create the first administrator."""
        from portal.auth.operations import AccountError, create_user
        from portal.core.enums import Role

        try:
            create_user(username, password, display_name or username, [Role.ADMIN])
        except AccountError as e:
            raise click.ClickException(str(e.message))
        db.session.commit()
        click.echo(f"created administrator {username}")

    @app.cli.command("demo-data")
    def demo_data():
        """Demo users (one per role, password demo-pass-2026), units, contracts and tickets. Idempotent."""
        from portal.demo import load_demo_data

        created = load_demo_data()
        db.session.commit()
        click.echo("demo data: " + ("created" if created else "already present"))
        if created:  # the dashboard shows the demo's figures at once, not after the first scheduled refresh
            from portal.metrics import refresh

            try:
                result, seconds = refresh.run_in_this_process(refresh.rebuild)
                click.echo(f"metrics built: {result} in {seconds:.1f} s")
            except refresh.Busy:
                click.echo("metrics: a refresh job is already running")

    @app.cli.command("i18n-update")
    def i18n_update():
        """Extract messages and merge them into every area's zh_CN catalogue."""
        from portal.i18n_tools import update_all

        for path, missing in update_all():
            click.echo(f"{path}: {missing} untranslated")
        click.echo("fill in the msgstr lines, then ./setup.sh compiles the catalogues")

    @app.cli.command("seed-bench")
    @click.option("--tickets", default=10000, show_default=True)
    @click.option("--customers", default=1000, show_default=True)
    def seed_bench(tickets: int, customers: int):
        """Bulk synthetic data for benchmarks."""
        # Imported here, not at the top: bench/ lives beside the application package, not in it (a deployment
        # needs none of it), so only this command — run from the checkout — may load it.
        try:
            from bench.seed import seed
        except ModuleNotFoundError as e:
            raise click.ClickException(f"seed-bench needs the checkout's bench/ folder ({e})")

        seed(tickets=tickets, customers=customers, echo=click.echo)

    @app.cli.command("check-history")
    @click.option("--show", default=200, show_default=True, help="Print at most this many problems (all are counted).")
    def check_history(show: int):
        """Check every ticket's history against its state; exit status 1 if any problem is found."""
        from portal.tickets.consistency import iter_problems
        from portal.tickets.models import Ticket
        from sqlalchemy import func

        found = 0
        for problem in iter_problems():
            found += 1
            if found <= show:
                click.echo(str(problem))
        tickets = db.session.scalar(select(func.count()).select_from(Ticket))
        click.echo(f"check-history: {tickets} tickets, {found} problems")
        if found:
            raise SystemExit(1)
