from rq import SimpleWorker

from portal.core.redis_conn import get_redis


def test_healthz_reports_database_and_redis_ok(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    # (worker: none — no RQ worker runs in this test; it does not make the portal unhealthy)
    assert r.get_json() == {"status": "ok", "database": "ok", "redis": "ok", "worker": "none"}


def test_healthz_says_a_worker_is_alive_once_one_has_registered(client):
    worker = SimpleWorker(["default"], connection=get_redis())
    worker.register_birth()
    try:
        assert client.get("/healthz").get_json()["worker"] == "ok"
    finally:
        worker.register_death()
    assert client.get("/healthz").get_json()["worker"] == "none"


def test_healthz_names_redis_when_it_is_down(app, client, tmp_path):
    import redis

    saved = app.extensions["portal_redis"]
    app.extensions["portal_redis"] = redis.Redis(unix_socket_path=str(tmp_path / "none.sock"),
                                                 socket_connect_timeout=1, socket_timeout=1)
    try:
        r = client.get("/healthz")
    finally:
        app.extensions["portal_redis"] = saved
    body = r.get_json()
    assert r.status_code == 503 and body["database"] == "ok" and body["redis"].startswith("error: ")
    assert body["status"] == "degraded"
