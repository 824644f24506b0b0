"""售后服务门户 — the after-sales service portal."""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, request, session
from flask_login import current_user

from portal import static_assets
from portal.config import load_config
from portal.extensions import babel, csrf, db, htmx, limiter, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=os.environ.get("INSTANCE_PATH", str(ROOT / "instance")),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.update(load_config(app.instance_path))
    if overrides:
        app.config.update(overrides)

    from portal.core import database, i18n, params, redis_conn, security, storage, templating

    params.init_app(app)  # bounded <int:…> ids, before any route is added

    redis_url = redis_conn.resolve_url(app)
    app.config.setdefault("RATELIMIT_STORAGE_URI", redis_conn.limiter_storage_uri(redis_url))
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    # Redis down must not lock staff out: the throttle counts in this process's memory until it is back.
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)

    i18n.warn_if_not_compiled()  # compiled by ./setup.sh, only loaded here
    db.init_app(app)
    database.configure_engine_events(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True, compare_type=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, default_translation_directories=i18n.directories())
    htmx.init_app(app)
    limiter.init_app(app)

    import portal.models  # noqa: F401  (registers every table)

    from portal.admin.routes import bp as admin_bp
    from portal.auth.routes import bp as auth_bp
    from portal.customers.routes import bp as customers_bp
    from portal.health import bp as health_bp
    from portal.hotline.routes import bp as hotline_bp
    from portal.tickets.routes import bp as tickets_bp
    from portal.notifications.routes import bp as notifications_bp
    from portal.queues.routes import bp as queues_bp
    from portal.service_plan.routes import bp as service_plan_bp
    from portal.documents.routes import bp as documents_bp
    from portal.handover.routes import bp as handover_bp
    from portal.metrics.routes import bp as metrics_bp
    from portal.complaints.routes import bp as complaints_bp
    from portal.replies.routes import bp as replies_bp
    from portal.visits.routes import bp as visits_bp
    from portal.kb.routes import bp as kb_bp
    from portal.kb_work.routes import bp as kb_work_bp

    for bp in (auth_bp, admin_bp, customers_bp, hotline_bp, tickets_bp, queues_bp, health_bp, notifications_bp,
               service_plan_bp, metrics_bp, complaints_bp,
               documents_bp, handover_bp, replies_bp, visits_bp, kb_bp, kb_work_bp):
        app.register_blueprint(bp)

    from portal.areas import plug_all

    plug_all(app)  # permissions, menu, reminder kinds, listeners, template helpers of every area
    templating.init_app(app)
    security.init_app(app)
    storage.init_app(app)  # a file store that cannot be reached: 503
    static_assets.init_app(app)  # compressed responses; static files cache-busted and cached

    from portal.cli import register_cli

    register_cli(app)
    return app
