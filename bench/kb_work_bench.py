"""Benchmark of the knowledge base where the work is (issue 16): the intake suggestion fragment, an article's
measures and the dashboard's KB tile, with many articles and a year of views.

    .venv/bin/python bench/kb_work_bench.py --articles 20000 --view-days 60

A fresh instance in a temporary folder (SQLite), or the database DATABASE_URL names (its tables are dropped
and migrated: use a database of its own). Articles are written and published through portal.kb.operations
(so the search index is the real one), views put straight into kb_article_view_days (`--view-days` days of
the last year per article), votes from 20 staff members. Then each request runs through the Flask test
client as 客服 (suggestions) or an administrator (dashboard) once to warm up and --runs times; the median and
the slowest are printed. Printed, not asserted.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORDS = ["打印机", "报表", "导出", "登录", "密码", "医保", "结算", "接口", "超时", "备份", "磁盘", "首页", "加载",
         "模板", "驱动", "网络", "数据库", "连接", "权限", "审批", "流程", "发票", "库存", "排班", "挂号", "收费",
         "病历", "检验", "影像", "药品", "财务", "凭证", "工资", "考勤", "短信", "邮件", "升级", "补丁", "证书"]
QUERIES = ["打印报表时提示打印机脱机", "医保结算接口调用超时", "登录后首页加载很慢", "夜间备份失败磁盘空间不足",
           "导出Excel乱码", "修改密码页面空白", "发票打印模板错位", "检验报告无法上传", "排班表导出失败", "短信发送失败"]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--articles", type=int, default=20000)
    p.add_argument("--view-days", type=int, default=60, help="days of the last year each article was read on")
    p.add_argument("--runs", type=int, default=30)
    return p.parse_args()


def timed(client, url: str, runs: int, headers=None) -> tuple[float, float]:
    client.get(url, headers=headers)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        r = client.get(url, headers=headers)
        times.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, (url, r.status_code)
    return statistics.median(times), max(times)


def main() -> None:
    args = parse_args()
    os.environ.setdefault("INSTANCE_PATH", tempfile.mkdtemp(prefix="kbwork-bench-"))
    from tests.conftest import _fresh_schema

    from portal import create_app
    from portal.auth.operations import create_user
    from portal.core.enums import Role
    from portal.core.timeutil import today_local
    from portal.extensions import db
    from portal.kb import operations as kb
    from portal.kb_work import measures
    from portal.kb_work.models import ArticleViewDay, ArticleVote

    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False, "FAST_PASSWORD_HASHING": True})
    rnd = random.Random(16)
    with app.app_context():
        _fresh_schema(db)
        print(f"database: {db.engine.dialect.name}")
        writer = create_user("engineer", "bench-pass-2026", "engineer", [Role.ENGINEER], "dev")
        reviewer = create_user("dev_manager", "bench-pass-2026", "dev_manager", [Role.DEV_MANAGER], "dev")
        create_user("cs", "bench-pass-2026", "cs", [Role.CS], "cs")
        create_user("admin", "bench-pass-2026", "admin", [Role.ADMIN], None)
        voters = [create_user(f"staff{i}", "bench-pass-2026", f"staff{i}", [Role.CS], "cs").id for i in range(20)]
        db.session.commit()
        t0 = time.perf_counter()
        ids = []
        for n in range(args.articles):
            words = rnd.sample(WORDS, 6)
            a = kb.create(writer, kb.ArticleInput(
                title=f"{words[0]}{words[1]}时提示{words[2]}错误（{n}）", symptom=f"{words[3]}后{words[0]}{words[4]}",
                cause=f"{words[5]}配置不当", solution=f"重新设置{words[5]}，然后重启{words[1]}服务。",
                module=words[0], tags=",".join(words[:3])))
            if n % 10:  # one in ten stays a draft
                kb.publish(a, reviewer)
            ids.append(a.id)
            if n % 500 == 499:
                db.session.commit()
        db.session.commit()
        print(f"{args.articles} articles written and indexed in {time.perf_counter() - t0:.0f} s")
        today = today_local()
        rows = []
        for article_id in ids:
            for back in rnd.sample(range(365), args.view_days):
                rows.append(dict(article_id=article_id, day=today - timedelta(days=back), views=rnd.randint(1, 9)))
            if len(rows) > 50000:
                db.session.execute(ArticleViewDay.__table__.insert(), rows)
                rows = []
        if rows:
            db.session.execute(ArticleViewDay.__table__.insert(), rows)
        db.session.execute(ArticleVote.__table__.insert(), [
            dict(article_id=a, user_id=u, helpful=rnd.random() < 0.8, voted_at=measures.utcnow()
                 - timedelta(days=rnd.randint(0, 364))) for a in ids[::7] for u in rnd.sample(voters, 3)])
        db.session.commit()
        print(f"view rows: {args.articles * args.view_days}, votes: {len(ids[::7]) * 3}")

        client = app.test_client()
        client.post("/login", data={"username": "cs", "password": "bench-pass-2026"})
        hx = {"HX-Request": "true"}
        results = []
        for q in QUERIES:
            results.append(timed(client, "/kb/suggest?q=" + quote(q), args.runs, hx))
        p50s = sorted(r[0] for r in results)
        print(f"intake suggestion fragment /kb/suggest (10 summaries × {args.runs}): "
              f"median of medians {statistics.median(p50s):.1f} ms, slowest median {p50s[-1]:.1f} ms, "
              f"slowest single {max(r[1] for r in results):.1f} ms")
        admin = app.test_client()
        admin.post("/login", data={"username": "admin", "password": "bench-pass-2026"})
        from portal.kb.models import Article
        article = db.session.get(Article, ids[1])
        with app.test_request_context():
            t = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                measures.for_article(article)
                t.append((time.perf_counter() - t0) * 1000)
            print(f"an article's measures (its page's 使用情况): median {statistics.median(t):.1f} ms")
            from portal.metrics import periods
            from portal.metrics.queries import Scope
            for kind, label in (("month", "this month"), ("year", "this year")):
                scope = Scope(period=periods.of_kind(kind, today))
                t = []
                for _ in range(max(5, args.runs // 3)):
                    t0 = time.perf_counter()
                    measures.for_period(scope.period.start, scope.period.end, scope.start_utc, scope.end_utc)
                    t.append((time.perf_counter() - t0) * 1000)
                print(f"dashboard KB tile, {label}: median {statistics.median(t):.1f} ms, slowest {max(t):.1f} ms")


if __name__ == "__main__":
    main()
