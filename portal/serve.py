"""`python -m portal.serve`: the portal for one machine (run.sh).

Holds the embedded Redis for the life of the process and serves with gunicorn on
127.0.0.1:$PORT (default 5000). Background workers join this in the jobs work.
"""
from __future__ import annotations

import os


def main() -> None:
    from gunicorn.app.base import BaseApplication

    from app import app

    port = int(os.environ.get("PORT", "5000"))

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"127.0.0.1:{port}")
            self.cfg.set("workers", int(os.environ.get("WEB_CONCURRENCY", "2")))
            self.cfg.set("threads", 4)
            self.cfg.set("accesslog", "-")

        def load(self):
            return app

    print(f"售后服务门户: http://127.0.0.1:{port}  (演示账号见 README)", flush=True)
    Server().run()


if __name__ == "__main__":
    main()
