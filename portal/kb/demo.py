"""Demo knowledge base: articles an after-sales team would really have, written by the engineers from solved
tickets (linked to them), published by the managers; one still a draft, sent back with a comment; one not
reviewed for longer than the review period (flagged on the KB home, its owner reminded)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from portal.auth.models import User
from portal.core.policy import policy_for
from portal.core.timeutil import clock_set_to, utcnow
from portal.extensions import db
from portal.kb import operations as ops
from portal.tickets.models import Ticket

# (title, symptom, cause, solution, module, versions, tags, visibility, ticket summary to link, author)
ARTICLES = [
    ("打印月报时提示“打印机无法打印”",
     "在报表中心点击“打印月报”后弹出“打印机无法打印”，打印机本身可以打印测试页，其他软件打印正常。",
     "客户端的打印服务（Print Spooler）停止，或报表打印模板指向了已删除的打印机名称。",
     "1. 在“服务”中重启 Print Spooler，并设为自动启动；\n2. 在系统设置 → 打印模板中重新选择默认打印机；\n"
     "3. 重新打开报表中心后再打印。\n如仍失败，导出客户端日志（帮助 → 导出日志）发给开发部。",
     "报表中心", "V3.2, V3.3", "打印机,报表,打印模板", "customer", "打印报表时提示打印机无法打印", "engineer"),
    ("登录后首页加载超过 30 秒",
     "早上上班高峰（8:00–9:00）登录后首页要等半分钟以上，其余时间正常。",
     "首页“待办统计”每次登录都全表汇总，高峰时数据库连接池被占满。",
     "升级到 V3.3.2 及以上（待办统计改为每 5 分钟预计算）；临时办法：系统设置 → 首页 → 关闭“实时待办统计”。",
     "首页", "V3.2, V3.3.0, V3.3.1", "性能,首页,登录", "customer", "登录后首页加载很慢", "engineer"),
    ("夜间数据备份任务失败（磁盘空间不足）",
     "服务器上的夜间备份任务连续失败，备份日志显示“No space left on device”。",
     "备份目录所在磁盘已满：历史备份没有按保留策略清理。",
     "1. 删除 30 天前的备份文件，或移到归档存储；\n2. 在备份配置中设置“保留天数 = 30”；\n"
     "3. 手动执行一次备份并检查日志；\n4. 建议对备份磁盘设置 80% 使用率告警。",
     "数据备份", "全部版本", "备份,磁盘空间,服务器", "internal", "数据备份任务失败", "engineer2"),
    ("统计报表汇总数与明细不一致",
     "月度统计报表的汇总数比明细相加多出几笔，多出的是月末最后一天晚上录入的单据。",
     "汇总按服务器时区（UTC）取月份，明细按北京时间取月份，月末 16:00 以后的单据被算进了下个月的汇总。",
     "升级到 V3.3.1（汇总统一按北京时间）；已生成的历史报表在“报表中心 → 重新生成”中按月重新生成即可。",
     "报表中心", "V3.2, V3.3.0", "报表,统计口径,时区", "customer", "统计报表数字与明细不一致", "engineer2"),
    ("如何批量导入新员工信息",
     "人事科需要一次录入几十个新员工，逐个录入太慢。",
     "",
     "1. 人员管理 → 导入 → 下载 Excel 模板；\n2. 按模板填写（工号、姓名、科室必填）；\n"
     "3. 上传后先点“检查”，按提示改正标红的行，再点“导入”。\n一次最多 2000 行。",
     "人员管理", "V3.0 及以上", "导入,Excel,人员", "customer", "如何批量导入新员工信息", "impl_engineer"),
    ("系统支持哪些浏览器",
     "客户信息科准备统一升级浏览器，询问系统兼容哪些浏览器。",
     "",
     "支持 Chrome、Edge 最新两个大版本，以及 360 极速浏览器的极速模式；不支持 IE 和 360 兼容模式。"
     "使用兼容模式时页面会空白或按钮无反应。",
     "客户端", "全部版本", "浏览器,兼容性", "customer", "系统支持哪些浏览器", "impl_engineer"),
    ("导出 Excel 打开后中文乱码",
     "从查询结果导出的 CSV 文件用 Excel 打开，中文显示为乱码。",
     "旧版本导出的 CSV 没有 BOM，Excel 按本机 ANSI 编码打开。",
     "选择“导出为 Excel（.xlsx）”而不是 CSV；或在 Excel 中用“数据 → 自文本/CSV”导入并选择 UTF-8 编码。",
     "查询统计", "V3.1, V3.2", "导出,Excel,乱码", "customer", None, "engineer"),
    ("医保结算接口调用超时",
     "门诊收费时医保结算一直转圈，约 60 秒后提示“接口调用超时”，重试偶尔成功。",
     "前置机到医保中心的专线丢包；接口超时时间设置过短（默认 30 秒）。",
     "1. 请客户信息科联系运营商检查专线；\n2. 系统设置 → 接口 → 医保结算超时改为 90 秒；\n"
     "3. 对超时的单据在“医保对账”中核对后补结算，避免重复扣费。",
     "门诊收费", "V3.3", "医保,接口,超时", "internal", None, "engineer2"),
]
DRAFT = ("密码过期后无法修改密码",
         "登录时提示密码已过期，点击“修改密码”后页面空白。",
         "",
         "在管理端重置该用户密码。",
         "系统管理", "V3.3", "登录,密码", "internal", None, "engineer")
STALE = ("短信提醒发送失败（短信网关余额不足）",
         "到期提醒短信没有发出，发送记录显示“网关返回 4001”。",
         "短信网关账户余额不足。",
         "请客户联系短信服务商充值；充值后在“短信记录”中选择失败记录点“重发”。",
         "消息提醒", "V3.2", "短信,提醒", "internal", None, "engineer")


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _ticket(summary: str | None) -> Ticket | None:
    if summary is None:
        return None
    return db.session.scalar(select(Ticket).where(Ticket.summary == summary, Ticket.state.in_(ops.SOLVED_STATES))
                             .order_by(Ticket.id.desc()).limit(1))


def _write(row, *, publish_by: str | None = "dev_manager"):
    title, symptom, cause, solution, module, versions, tags, visibility, summary, author = row
    a = ops.create(_user(author), ops.ArticleInput(title=title, symptom=symptom, cause=cause, solution=solution,
                                                   module=module, versions=versions, tags=tags,
                                                   visibility=visibility), source_ticket=_ticket(summary))
    if publish_by:
        ops.publish(a, _user(publish_by))
    return a


def seed() -> None:
    """Called once by portal.demo.load_demo_data, after the ticket history (whose solved tickets it links)."""
    now = utcnow()
    with clock_set_to(now - timedelta(days=policy_for(None).kb_review_days + 40)):
        _write(STALE)
    for n, row in enumerate(ARTICLES):
        with clock_set_to(now - timedelta(days=60 - 6 * n)):
            _write(row, publish_by="impl_manager" if row[-1] == "impl_engineer" else "dev_manager")
    with clock_set_to(now - timedelta(days=1)):
        draft = _write(DRAFT, publish_by=None)
        ops.send_back(draft, _user("dev_manager"), comment="请补充原因：为什么修改密码页面是空白的？是否与浏览器有关？")
    ops.open_stale_reminders(now)
