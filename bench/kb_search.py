"""Benchmark of the knowledge base's search and intake suggestions: 20,000 articles beside the ticket seed.

    INSTANCE_PATH=/tmp/kb-bench .venv/bin/python bench/kb_search.py --tickets 100000
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/kb_bench .venv/bin/python bench/kb_search.py --tickets 100000

Brings the database up to date (`flask db upgrade`), seeds tickets with bench/seed.py until there are
--tickets of them (skipped when there are), adds synthetic articles until there are --articles published
ones (realistic Chinese: module, object, symptom, cause and solution phrases in many combinations; tags;
versions; 5 % drafts), written in bulk with their first revision and their index documents (portal.kb.index,
in the same transaction per batch). Then times portal.kb.search.search (a dozen queries: common and rare words,
two and three words, a tag's pinyin initials, filters, an article number) and portal.kb.search.suggest
(intake summaries as cs types them): one warm-up, then --runs runs of each; prints p50 and p95 per query and
the p50 over all. Printed, not asserted (the target is p50 ≤ 30 ms).
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODULES = ["门诊收费", "住院结算", "报表中心", "人员管理", "医保接口", "药品管理", "检验系统", "影像系统", "财务核算",
           "档案管理", "系统管理", "消息提醒", "预约挂号", "电子病历", "物资管理", "绩效考核"]
OBJECTS = ["发票", "月报", "处方", "医嘱", "凭证", "工资条", "检验报告", "结算单", "挂号单", "入库单", "病历首页",
           "对账单", "体检报告", "排班表", "采购计划", "档案目录"]
SYMPTOMS = ["无法打印", "加载很慢", "导出后中文乱码", "提示接口超时", "汇总数与明细不一致", "保存时提示失败", "点击后页面空白",
            "数据重复", "金额计算错误", "状态不刷新", "查询不到记录", "上传附件失败", "登录后闪退", "审核按钮灰色不可用",
            "日期显示错误", "提示权限不足"]
CAUSES = ["客户端打印服务停止", "数据库连接池占满", "导出文件缺少编码标记", "前置机网络丢包", "按服务器时区汇总",
          "字段长度不足被截断", "浏览器处于兼容模式", "定时任务重复执行", "舍入规则配置错误", "缓存没有失效",
          "索引缺失导致全表扫描", "附件大小超过限制", "客户端版本过旧", "角色权限配置遗漏", "时区设置错误",
          "磁盘空间不足"]
SOLUTIONS = ["重启相关服务并设为自动启动", "升级到最新补丁版本", "在系统设置中修改默认配置", "清理缓存后重新登录",
             "联系运营商检查专线", "按模板重新导入数据", "在管理端重新授权", "调整超时时间为 90 秒",
             "重新生成历史报表", "切换浏览器到极速模式", "扩容磁盘并设置告警", "修正舍入规则后重新计算"]
TAGS = ["打印机", "报表", "性能", "乱码", "接口", "超时", "权限", "导入", "导出", "浏览器", "备份", "医保", "发票",
        "数据校验", "升级", "配置"]
SEARCHES = [  # (label, q, filters)
    ("one common word", "打印", {}),
    ("two words", "发票 打印", {}),
    ("a phrase (jieba words + bigrams)", "医保结算接口超时", {}),
    ("a symptom sentence", "月报导出后中文乱码", {}),
    ("a rare word", "体检报告", {}),
    ("no match", "卫星导航", {}),
    ("tag pinyin initials", "dyj", {}),
    ("word + module filter", "超时", {"module": "医保接口"}),
    ("word + tag filter", "报表", {"tag": "性能"}),
    ("word + version filter", "乱码", {"version": "V3.2"}),
    ("article number", "KB-00123", {}),
    ("empty query, module filter", "", {"module": "门诊收费"}),
]
SUGGESTS = [
    "门诊收费处打印发票时提示无法打印",
    "病人医保结算一直转圈然后提示接口超时",
    "财务科说月报导出后中文都是乱码",
    "检验报告查询不到记录",
    "登录后首页加载很慢要等半分钟",
    "住院结算单金额计算错误少了几分钱",
]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tickets", type=int, default=100_000, help="seed tickets up to this many (bench/seed.py)")
    p.add_argument("--customers", type=int, default=2000, help="units to seed with the tickets")
    p.add_argument("--articles", type=int, default=20_000, help="published articles to have")
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--reindex", action="store_true", help="rewrite every article's index document first")
    return p.parse_args()


def _article(r: random.Random, n: int) -> dict:
    module, obj = r.choice(MODULES), r.choice(OBJECTS)
    symptom, cause = r.choice(SYMPTOMS), r.choice(CAUSES)
    sol = r.sample(SOLUTIONS, 3)
    title = f"{module}{obj}{symptom}"
    return dict(
        title=title,
        symptom=f"在{module}中处理{obj}时{symptom}，{r.choice(['每次都会出现', '偶尔出现', '高峰期出现', '升级后出现'])}，"
                f"{r.choice(['其他功能正常', '重启客户端无效', '换电脑也一样', '只有部分科室出现'])}。",
        cause=f"经排查是{cause}，{r.choice(['与客户环境有关', '属于已知缺陷', '配置与手册不符'])}。",
        solution=f"1. {sol[0]}；\n2. {sol[1]}；\n3. {sol[2]}。\n处理后请客户重新{r.choice(['打印', '导出', '结算', '查询', '保存'])}验证。",
        internal_notes="", module=module, versions=", ".join(sorted(r.sample(["V3.0", "V3.1", "V3.2", "V3.3", "V4.0"], 2))),
        tags=",".join(r.sample(TAGS, 3)), visibility=r.choice(["internal", "customer"]),
        state="draft" if n % 20 == 0 else "published")


def add_articles(target: int, echo=print) -> None:
    from sqlalchemy import func, insert, select

    from portal.auth.models import User
    from portal.core.timeutil import utcnow
    from portal.extensions import db
    from portal.kb import index
    from portal.kb.models import NUMBER_PREFIX, Article, ArticleRevision, ArticleState

    have = db.session.scalar(select(func.count()).select_from(Article).where(
        Article.state == ArticleState.PUBLISHED.value))
    if have >= target:
        echo(f"articles: {have:,} published already")
        return
    owner = db.session.scalar(select(User.id).order_by(User.id).limit(1))
    if owner is None:
        raise SystemExit("no user: seed tickets first (--tickets)")
    next_id = (db.session.scalar(select(func.max(Article.id))) or 0) + 1
    r = random.Random(f"kb-bench:{next_id}")
    now, started, made = utcnow(), time.perf_counter(), 0
    need = int((target - have) / 0.95) + 1
    while made < need:
        rows, revs = [], []
        for _ in range(min(2000, need - made)):
            a = _article(r, next_id)
            row = dict(id=next_id, number=f"{NUMBER_PREFIX}{next_id:05d}", owner_id=owner, revision_no=1,
                       created_at=now, updated_at=now, review_comment="", source_ticket_id=None,
                       reviewed_at=now if a["state"] == "published" else None,
                       reviewed_by_id=owner if a["state"] == "published" else None, **a)
            rows.append(row)
            revs.append(dict(article_id=next_id, revision_no=1, action="create", author_id=owner, comment="",
                             created_at=now, **{k: a[k] for k in ("title", "symptom", "cause", "solution",
                                                                   "internal_notes", "module", "versions", "tags",
                                                                   "visibility", "state")}))
            next_id += 1
        db.session.execute(insert(Article.__table__), rows)
        db.session.execute(insert(ArticleRevision.__table__), revs)
        index.write(db.session.connection(), index.load(db.session, [x["id"] for x in rows]))
        db.session.commit()  # the articles and their documents: one transaction per batch
        made += len(rows)
        echo(f"  {made:,} articles written ({time.perf_counter() - started:.0f} s)")
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as conn:
            conn.exec_driver_sql("SELECT setval(pg_get_serial_sequence('kb_articles', 'id'), "
                                 "(SELECT max(id) FROM kb_articles))")
            conn.commit()
        vacuum()
    else:
        with db.engine.connect() as conn:
            conn.exec_driver_sql("INSERT INTO kb_search (kb_search) VALUES ('optimize')")
            conn.exec_driver_sql("ANALYZE")
            conn.commit()


def vacuum() -> None:
    """PostgreSQL: what autovacuum does soon after a bulk write (VACUUM refuses to run in a transaction)."""
    from portal.extensions import db

    if db.engine.dialect.name != "postgresql":
        return
    raw = db.engine.raw_connection()
    try:
        raw.driver_connection.autocommit = True
        raw.driver_connection.execute("VACUUM ANALYZE kb_articles")
        raw.driver_connection.execute("VACUUM ANALYZE kb_search")
    finally:
        raw.close()


def timed(fn, runs: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> None:
    args = parse_args()
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from portal import create_app
    from portal.auth.models import User
    from portal.extensions import db
    from portal.kb.models import Article
    from portal.kb.search import search, suggest
    from portal.tickets.models import Ticket

    app = create_app()
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        tickets = db.session.scalar(select(func.count()).select_from(Ticket))
        if tickets < args.tickets:
            from bench.seed import seed
            from portal.search.reindex import reindex

            seed(tickets=args.tickets - tickets, customers=args.customers if tickets == 0 else 0)
            reindex()
            tickets = db.session.scalar(select(func.count()).select_from(Ticket))
        add_articles(args.articles)
        if args.reindex:
            from portal.kb import index

            started = time.perf_counter()
            n = index.reindex_all(db.session)
            db.session.commit()
            print(f"reindexed {n:,} articles in {time.perf_counter() - started:.1f} s")
            vacuum()
        articles = db.session.scalar(select(func.count()).select_from(Article))
        user = db.session.scalar(select(User).where(User.username == "bench_cs"))
        print(f"\n{db.engine.dialect.name}: {tickets:,} tickets, {articles:,} articles; {args.runs} runs each (ms)")
        all_search, all_suggest = [], []
        for label, q, filters in SEARCHES:
            ms = timed(lambda: search(q, user=user, **filters), args.runs)
            n = len(search(q, user=user, **filters))
            all_search += ms
            print(f"  search  {label:34} p50 {statistics.median(ms):6.1f}  p95 {_p95(ms):6.1f}  ({n} hits)")
        for text in SUGGESTS:
            ms = timed(lambda: suggest(text, user=user), args.runs)
            all_suggest += ms
            print(f"  suggest {text:24} p50 {statistics.median(ms):6.1f}  p95 {_p95(ms):6.1f}")
        print(f"  => search p50 {statistics.median(all_search):.1f} ms, suggest p50 "
              f"{statistics.median(all_suggest):.1f} ms on {db.engine.dialect.name} (target ≤ 30 ms)")


def _p95(ms: list[float]) -> float:
    return sorted(ms)[max(0, int(len(ms) * 0.95) - 1)]


if __name__ == "__main__":
    main()
