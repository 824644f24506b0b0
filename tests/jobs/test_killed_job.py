"""A worker process killed in the middle of a job: RQ retries the job, and its effect (written in
the job's transaction, committed at its end) happens exactly once."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry, StartedJobRegistry
from sqlalchemy import func, select

from portal.extensions import db
from portal.jobs import queue as outbox
from portal.notifications.models import Notification
from tests.jobs import sample_jobs
from tests.jobs.helpers import run_burst_worker

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 90  # seconds for the worker process to start and take the job (a loaded CI machine)


@pytest.fixture
def worker_process(app):
    """`python -m portal.jobs.worker` on the test's database and Redis, as production runs it."""
    env = dict(os.environ, REDIS_URL=app.config["REDIS_URL"], INSTANCE_PATH=app.instance_path)
    log = tempfile.NamedTemporaryFile(prefix="worker-", suffix=".log", delete=False)
    proc = subprocess.Popen([sys.executable, "-m", "portal.jobs.worker"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    yield proc
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of its process group, if the test failed
    except ProcessLookupError:
        pass
    proc.wait(10)
    log.close()
    os.unlink(log.name)


def children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(x) for x in f.read().split()]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False


def effect_rows(key: str) -> int:
    db.session.commit()  # a fresh snapshot: see what other processes committed
    return db.session.scalar(select(func.count()).select_from(Notification).where(Notification.key == key))


def test_job_killed_mid_way_is_retried_and_its_effect_happens_once(users, redis_conn, worker_process):
    msg = outbox.enqueue(sample_jobs.write_effect_when_told, "k1", users["cs"].id)
    db.session.commit()

    # The worker process has taken the job and written the effect, uncommitted; it now waits.
    started = sample_jobs.blocking_redis().blpop(["test:k1:started"], timeout=START_TIMEOUT)
    assert started is not None, "the worker process never started the job"
    assert started[1] == b"1"
    scheduler = children(worker_process.pid)  # RQ forks its scheduler into a process of its own
    assert len(scheduler) == 1
    worker_process.send_signal(signal.SIGKILL)  # only the worker, as the OOM killer would
    worker_process.wait(10)
    assert effect_rows("effect:k1") == 0  # killed before its commit: nothing happened
    # The scheduler does not outlive the worker (it stops on its own; poll with a deadline).
    deadline = time.monotonic() + 20
    while alive(scheduler[0]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(scheduler[0]), "the worker's scheduler process outlived it"

    queue = outbox.get_queue()
    started_registry = StartedJobRegistry(queue=queue)
    assert msg.job_id in started_registry.get_job_ids()
    assert Job.fetch(msg.job_id, connection=redis_conn).get_status() == JobStatus.STARTED
    # A live worker's maintenance pass finds the job abandoned once the dead worker's heartbeat has
    # expired (minutes); cleaning up as of one hour from now is that pass, without the wait.
    started_registry.cleanup(timestamp=time.time() + 3600)
    scheduled = ScheduledJobRegistry(queue=queue)
    assert scheduled.get_job_ids() == [msg.job_id]  # retried after its backoff
    scheduled.requeue(msg.job_id)  # the backoff has passed

    redis_conn.rpush("test:k1:go:2", "go")
    run_burst_worker()
    assert int(redis_conn.get("test:k1:attempts")) == 2
    assert Job.fetch(msg.job_id, connection=redis_conn).get_status() == JobStatus.FINISHED
    assert effect_rows("effect:k1") == 1

    # Run once more (e.g. a duplicate delivery): it finds the effect and adds nothing.
    outbox.enqueue(sample_jobs.write_effect_when_told, "k1", users["cs"].id)
    db.session.commit()
    redis_conn.rpush("test:k1:go:3", "go")
    run_burst_worker()
    assert int(redis_conn.get("test:k1:attempts")) == 3
    assert effect_rows("effect:k1") == 1
