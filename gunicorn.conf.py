"""Read by `gunicorn app:app` started from this folder. With no REDIS_URL, the arbiter (not each
worker) starts the embedded Redis and owns it: workers attach through REDIS_URL, and the
server stops when the arbiter exits — a SIGTERM-stopped gunicorn leaves no redis-server behind."""
import os


def on_starting(server):
    if not os.environ.get("REDIS_URL"):
        from portal.config import load_config
        from portal.core import embedded_redis

        instance = os.environ.get("INSTANCE_PATH", os.path.join(os.path.dirname(os.path.abspath(__file__)), "instance"))
        os.environ["REDIS_URL"] = embedded_redis.start_or_attach(load_config(instance)["EMBEDDED_REDIS_DIR"])


def on_exit(server):
    from portal.core import embedded_redis

    embedded_redis.stop_owned()
