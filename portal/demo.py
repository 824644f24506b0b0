"""Demo data for a first start: one user per role, a dozen units, tickets in every state, and a year of
history behind them (tickets, callbacks, service-plan calls and visits, complaints) so that every chart and
table of the dashboard has something to show.

Everything is driven through the real operations, each step replayed at the time it would have happened
(`clock_set_to`): on working days, in working hours, over the last 13 months — so the history, the
response and resolution times and the service plan are what staff would have produced. For demonstration
only: every demo account has the same known password.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from sqlalchemy import select

from portal.admin import demo as policy_demo
from portal.auth.models import User
from portal.auth.operations import create_user
from portal.complaints import operations as complaints
from portal.core.enums import MaintenanceStatus, Role
from portal.core.policy import is_workday
from portal.core.timeutil import clock_set_to, from_local, today_local, utcnow
from portal.customers.models import Contact, Contract, CustomerUnit
from portal.customers.operations import create_unit
from portal.documents import letterhead
from portal.documents.models import Letterhead
from portal.extensions import db
from portal.hotline.models import HotlineRecord
from portal.kb import demo as kb_demo
from portal.kb_work import demo as kb_work_demo
from portal.notifications import reminders
from portal.notifications.models import Reminder
from portal.replies import demo as replies_demo
from portal.service_plan import operations as service_plan
from portal.customers.expiry import sweep as sweep_contracts
from portal.service_plan.jobs import sweep as sweep_service_plan
from portal.sla import demo as sla_demo
from portal.signals import demo as signals_demo
from portal.visits import demo as visits_demo
from portal.tickets import operations as ops

DEMO_PASSWORD = "demo-pass-2026"
USERS = [
    ("cs", "王芳", [Role.CS], "cs"),
    ("dev_manager", "李强", [Role.DEV_MANAGER], "dev"),
    ("engineer", "张伟", [Role.ENGINEER], "dev"),
    ("engineer2", "刘洋", [Role.ENGINEER], "dev"),
    ("impl_manager", "陈静", [Role.IMPL_MANAGER], "impl"),
    ("impl_engineer", "杨磊", [Role.IMPL_ENGINEER], "impl"),
    ("market", "赵敏", [Role.MARKET], "market"),
    ("market_manager", "周杰", [Role.MARKET_MANAGER, Role.MARKET], "market"),
    ("admin", "系统管理员", [Role.ADMIN], None),
    ("duty_manager", "孙丽华", [Role.CS, Role.DUTY_MANAGER], "cs"),  # 值班经理 (客服部)
    ("cs_manager", "郑敏", [Role.CS_MANAGER, Role.CS], "cs"),  # 客服部经理
]
UNITS = [
    ("北京市第一人民医院", "北京市东城区建国门内大街 8 号", "010-65123456", 1200, MaintenanceStatus.VIP),
    ("上海市浦东新区财政局", "上海市浦东新区世纪大道 100 号", "021-58881234", 300, MaintenanceStatus.ORDINARY),
    ("广州市天河区教育局", "广州市天河区天河路 385 号", "020-38881234", 450, MaintenanceStatus.ORDINARY),
    ("深圳市南山区人民医院", "深圳市南山区桃园路 89 号", "0755-26553111", 900, MaintenanceStatus.VIP),
    ("杭州市西湖区税务局", "杭州市西湖区文三路 20 号", "0571-87654321", 200, MaintenanceStatus.STOPPED),
    ("成都市武侯区社保中心", "成都市武侯区科华北路 12 号", "028-85551234", 350, MaintenanceStatus.ORDINARY),
    ("武汉市江汉区妇幼保健院", "武汉市江汉区香港路 100 号", "027-82801234", 260, MaintenanceStatus.ORDINARY),
    ("南京市鼓楼区档案馆", "南京市鼓楼区北京西路 6 号", "025-83301234", 80, MaintenanceStatus.STOPPED),
    ("西安市雁塔区住建局", "西安市雁塔区小寨东路 1 号", "029-85201234", 150, MaintenanceStatus.ORDINARY),
    ("重庆市渝中区图书馆", "重庆市渝中区中山四路 36 号", "023-63851234", 60, MaintenanceStatus.VIP),
    ("天津市和平区卫健委", "天津市和平区南京路 219 号", "022-23301234", 500, MaintenanceStatus.ORDINARY),
    ("苏州工业园区管委会", "苏州工业园区现代大道 999 号", "0512-66681234", 700, MaintenanceStatus.VIP),
]
LAPSED_UNIT = 10  # 天津市和平区卫健委
PEOPLE = [("刘建国", "信息科", "13800138001"), ("孙丽", "财务科", "13911112222"), ("马超", "办公室", "13700001111"),
          ("黄晓明", "药剂科", "15012345678"), ("吴静", "人事科", "18612345678"), ("郑华", "档案室", "13522223333")]
PROBLEMS = [
    ("maintenance", "打印报表时提示打印机无法打印", "每次点击“打印月报”后弹出错误，打印机本身正常。"),
    ("maintenance", "登录后首页加载很慢", "早上八点到九点之间，首页要等半分钟以上才出来。"),
    ("requirement", "希望增加按科室导出 Excel 的功能", "财务科每月要手工汇总各科室数据，希望系统直接导出。"),
    ("consultation", "如何批量导入新员工信息", "人事科问能否一次导入几十个新员工。"),
    ("maintenance", "数据备份任务失败", "服务器上的夜间备份任务连续两天失败。"),
    ("maintenance", "统计报表数字与明细不一致", "三月份的汇总数比明细相加多了两笔。"),
    ("requirement", "新增短信提醒功能", "希望到期前自动给经办人发短信提醒。"),
    ("consultation", "系统支持哪些浏览器", "信息科准备统一升级浏览器，问系统兼容情况。"),
]
HISTORY_MONTHS = 13  # the current month and the twelve before it
MAINTENANCE, CONSULTATION = (0, 1, 4, 5), (3, 7)  # indexes into PROBLEMS


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    """A Shanghai wall-clock time as naive UTC."""
    return from_local(datetime.combine(day, time(hour, minute)))


def _workdays(first: date, last: date) -> list[date]:
    return [d for d in (first + timedelta(days=i) for i in range((last - first).days + 1)) if is_workday(d)]


def _next_workday(day: date, n: int = 1) -> date:
    while n:
        day += timedelta(days=1)
        n -= is_workday(day)
    return day


class _Replay:
    """Steps taken at given moments, stopping at the first one not yet come (the rest of that story is still
    ahead: the ticket stays open where it got to)."""

    def __init__(self, now: datetime):
        self.now = now

    def run(self, steps: list[tuple[datetime, Callable[[], object]]]) -> bool:
        for moment, step in steps:
            if moment >= self.now:
                return False
            with clock_set_to(moment):
                step()
        return True


def load_demo_data() -> bool:
    if _user("cs") is not None:
        return False
    now, today = utcnow(), today_local()
    first_month = today.replace(day=1) - relativedelta(months=HISTORY_MONTHS - 1)
    past_workdays = _workdays(first_month, today - timedelta(days=1))
    replay = _Replay(now)

    with clock_set_to(_at(first_month - timedelta(days=14), 9)):  # the portal went live before the history
        units = _people_and_units(today)
    u = {name: _user(name) for name, *_ in USERS}
    open_units = [x for x in units if x.maintenance_status != MaintenanceStatus.STOPPED.value]
    stopped = [x for x in units if x.maintenance_status == MaintenanceStatus.STOPPED.value]

    def new(kind_index: int, unit: CustomerUnit, channel: str = "hotline", reported_at: datetime | None = None):
        kind, summary, desc = PROBLEMS[kind_index % len(PROBLEMS)]
        p = PEOPLE[kind_index % len(PEOPLE)]
        return ops.register_ticket(u["cs"], ops.Intake(channel=channel, customer_id=unit.id, type=kind,
                                                     reporter_name=p[0], reporter_dept=p[1], reporter_phone=p[2],
                                                     summary=summary, description=desc, reported_at=reported_at))

    def act(t, action, who, **data):
        ops.take_action(t, action, u[who], data)

    _history(replay, u, open_units, past_workdays, first_month, today, new, act)
    # The showcase: a ticket in every state, registered on the last working days (every step in working
    # hours, a few minutes apart), so each queue has work in it.
    recent = past_workdays[-2:] if len(past_workdays) >= 2 else [today]
    moments = iter([_at(day, 9) + timedelta(minutes=12 * n) for day in recent for n in range(40)])

    def in_turn(step):
        def at_the_next_moment(*args, **kwargs):
            with clock_set_to(next(moments)):
                return step(*args, **kwargs)
        return at_the_next_moment

    with clock_set_to(_at(recent[0], 8, 30)):  # the policy as an administrator changed it (issue 15 item 4)
        policy_demo.seed(u["admin"])
    _showcase(u, open_units, stopped, in_turn(new), in_turn(act), soon=now + timedelta(days=3))
    visits_demo.seed(u, open_units, new, act, at=_at(recent[-1], 16))  # on-site visits in every state

    with clock_set_to(next(moments)):
        # A unit still with the project team: customer service starts its handover (售后服务交接) from its page.
        project = create_unit("昆明市五华区医疗保障局", address="昆明市五华区人民中路 66 号", phone="0871-63181234",
                              user_count=120, status=MaintenanceStatus.ORDINARY)
        project.is_project = True
        for p in PEOPLE[:2]:
            db.session.add(Contact(customer_id=project.id, name=p[0], department=p[1], phone=p[2]))
        # The 客服 contact block printed on letters (an administrator edits it on the archive's settings page).
        if not letterhead.from_environment().complete and db.session.scalar(select(Letterhead.id).limit(1)) is None:
            letterhead.save(dict(name="华信软件有限公司客户服务部", address="北京市海淀区中关村软件园 10 号楼",
                                 phone="400-810-1234", fax="010-82851235", email="service@huaxin-soft.example.cn",
                                 qq="800012345"), u["admin"])
        # A complaint waiting for the development manager.
        complaints.register(u["cs"], customer_id=open_units[1].id, channel="phone", complainant="孙丽",
                            complainant_phone="13911112222", content="报表问题反映三次仍未解决，要求尽快给出答复。",
                            handler_id=u["dev_manager"].id)
        db.session.add(HotlineRecord(unit_name=UNITS[8][0], address=UNITS[8][1], phone="13612345678",
                                     contact_name="钱进", content="系统登录时提示密码过期，无法修改密码",
                                     handling="已记录，待登记", customer_id=units[8].id, recorded_by_id=u["cs"].id))
        replies_demo.seed(u)  # 常用语: shared texts of every kind and one of 客服's own
    sla_demo.seed(now, u, open_units, new, act)  # clocks running now, and the sweep's reminders (issue 15)
    signals_demo.seed(u, open_units, in_turn(new), in_turn(act), today, now)  # issue 15: check-ins, a low score
    kb_demo.seed()  # 知识库: articles written from the solved tickets above
    kb_work_demo.seed()  # 知识库: a month of views and the staff's votes
    sweep_contracts(today)  # contracts in their expiry window (市场部) and the lapsed one (市场部经理)
    return True


def _people_and_units(today: date) -> list[CustomerUnit]:
    for username, name, roles, dept in USERS:
        create_user(username, DEMO_PASSWORD, name, roles, dept)
    units = []
    for i, (name, address, phone, users, status) in enumerate(UNITS):
        unit = create_unit(name, address=address, phone=phone, user_count=users, status=status)
        units.append(unit)
        for j in range(2):
            p = PEOPLE[(i + j) % len(PEOPLE)]
            db.session.add(Contact(customer_id=unit.id, name=p[0], department=p[1], phone=p[2],
                                   email=f"contact{i}{j}@example.cn"))
        start = today - timedelta(days=300 - i * 20)
        if i == LAPSED_UNIT:  # its maintenance contract ended last week, not renewed: 市场部经理 must decide
            start = today - timedelta(days=370)
        db.session.add(Contract(customer_id=unit.id, start_date=start - timedelta(days=365),
                                end_date=start - timedelta(days=1), fee=Decimal("0"), free_year=True,
                                note="购买后首年免费维护"))
        db.session.add(Contract(customer_id=unit.id, start_date=start, end_date=start + timedelta(days=364),
                                fee=Decimal(20000 + 5000 * (i % 4)), note="年度维护合同"))
    db.session.flush()
    return units


def _history(replay: _Replay, u: dict, open_units: list, workdays: list[date], first_month: date, today: date,
             new, act) -> None:
    """Five tickets a month (solved, called back and closed — the latest still on their way), one complaint a
    quarter, and the service plan's monthly callbacks and visits, month by month."""
    month, k = first_month, 0
    while month <= today:
        days = [d for d in workdays if (d.year, d.month) == (month.year, month.month)]
        with clock_set_to(min(_at(month, 8), replay.now)):
            sweep_service_plan(month)  # what the plan asked for this month, as the daily sweep would have
        for i, day in enumerate(days[1::4][:5]):
            _history_ticket(replay, u, open_units[(k * 5 + i) % len(open_units)], day, k, i, new, act)
        _plan_records(replay, u, open_units, days, month, k)
        month, k = month + relativedelta(months=1), k + 1
    # Summaries of the past periods were filed at the time; only the latest are still to write.
    latest = db.session.scalar(select(db.func.max(Reminder.due_at)).where(Reminder.kind == "summary"))
    if latest is not None:
        reminders.settle(Reminder.kind == "summary", Reminder.due_at < latest - timedelta(days=100),
                         note="filed (demo history)")


def _history_ticket(replay: _Replay, u: dict, unit: CustomerUnit, day: date, k: int, i: int, new, act) -> None:
    registered = _at(day, 9) + timedelta(minutes=(k * 37 + i * 53) % 240)
    ticket = []

    def register(kind_index, channel="hotline"):
        return lambda: ticket.append(new(kind_index, unit, channel))

    if i == 3:  # a consultation, answered by 实施部 the same day
        replay.run([(registered, register(CONSULTATION[k % 2], "online")),
                    (registered + timedelta(hours=2, minutes=10),
                     lambda: act(ticket[0], "answer", "impl_engineer", answer="已电话说明操作步骤并发送说明文档"))])
        return
    engineer = ("engineer", "engineer2", "impl_engineer", None, "engineer")[i]
    manager = "impl_manager" if engineer == "impl_engineer" else "dev_manager"
    assigned = registered + timedelta(minutes=80 + 25 * i)
    missed = i == 1 and k % 2 == 0  # now and then a deadline is missed
    deadline = _at(day, 17, 30) if missed else _at(_next_workday(day, 3), 17, 30)
    solved_day = _next_workday(day, 1 + i % 2)
    called_day = _next_workday(solved_day)
    steps = [(registered, register(MAINTENANCE[(k + i) % len(MAINTENANCE)]))]
    if manager == "impl_manager":
        steps.append((registered + timedelta(minutes=40),
                      lambda: act(ticket[0], "route_to_impl", "dev_manager", reason="属于实施配置问题")))
    steps += [
        (assigned, lambda: act(ticket[0], "assign", manager, assignee_id=u[engineer].id, deadline=deadline,
                               analysis="已定位原因，安排工程师处理")),
        (assigned + timedelta(minutes=20),
         lambda: act(ticket[0], "notify_deadline", "cs", whom=PEOPLE[i][0], method="phone")),
        (_at(solved_day, 11 + i, 12 * i),
         lambda: act(ticket[0], "resolve", engineer, process="远程排查并修正配置", result="问题已解决",
                     hours_spent=Decimal(2 + i))),
        (_at(called_day, 10, 10 * i),
         lambda: act(ticket[0], "callback", "cs", solved=True, satisfaction=(5, 4, 5, 5, 3)[i], method="phone",
                     text="客户确认已解决")),
        (_at(called_day, 15, 10 * i), lambda: act(ticket[0], "close", "market", note="")),
    ]
    if i == 0 and k % 3 == 1:  # a complaint about the ticket, handled and confirmed with the customer
        complaint = []
        steps += [
            (_at(called_day, 16), lambda: complaint.append(complaints.register(
                u["cs"], customer_id=unit.id, ticket_number=ticket[0].number, channel="phone",
                complainant=PEOPLE[k % len(PEOPLE)][0], content="上门前没有提前电话确认时间。",
                handler_id=u["dev_manager"].id))),
            (_at(_next_workday(called_day), 10), lambda: complaints.handle(
                complaint[0], u["dev_manager"], handling="与工程师沟通上门流程", outcome="今后上门前一天电话确认")),
            (_at(_next_workday(called_day), 15), lambda: complaints.confirm(
                complaint[0], u["cs"], accepted=True, confirmation="客户表示理解")),
        ]
    replay.run(steps)


def _plan_records(replay: _Replay, u: dict, open_units: list, days: list[date], month: date, k: int) -> None:
    """The month's callbacks (one unit missed now and then) and visits (VIP monthly, ordinary quarterly)."""
    if not days:
        return
    for n, unit in enumerate(open_units):
        if (n + k) % 7 == 0:
            continue  # not reached this month: the plan is not always kept
        vip = unit.maintenance_status == MaintenanceStatus.VIP.value
        steps = [(_at(days[min(2, len(days) - 1)], 10) + timedelta(minutes=20 * n),
                  lambda unit=unit, n=n: service_plan.record(
                      unit, "monthly", u["cs"], method="phone", contact_person=PEOPLE[n % len(PEOPLE)][0],
                      outcome="系统运行正常", satisfaction=(5, 4, 5)[n % 3]))]
        if vip or month.month % 3 == 2:
            # issue 15: a visit is a record of its own (the last months'); before, it was a callback
            visit = visits_demo.maintenance_visit if month >= today_local().replace(day=1) - relativedelta(
                months=1) else visits_demo.legacy_visit
            steps.append((_at(days[min(9, len(days) - 1)], 9) + timedelta(minutes=25 * n),
                          lambda unit=unit, n=n, visit=visit: visit(unit, u, n)))
        replay.run(steps)


def _showcase(u: dict, open_units: list, stopped: list, new, act, soon: datetime) -> None:
    eng = u["engineer"]
    # registered (to analyse), one of them urgent
    new(0, open_units[0]); t = new(1, open_units[1]); act(t, "approve_urgent", "market", request="客户来函要求优先处理")
    # awaiting_market (maintenance stopped)
    new(4, stopped[0]); new(5, stopped[1], "email")
    # pending_fee
    t = new(2, open_units[2]); act(t, "suspend_for_fee", "dev_manager", analysis="属于新增需求，需与客户确定费用")
    # ready_to_assign
    t = new(6, open_units[3]); act(t, "suspend_for_fee", "dev_manager", analysis="新增需求")
    act(t, "record_fee", "market", outcome="agreed", fee=Decimal("8000"), agreed_requirements="到期前 7 天短信提醒经办人",
        text="客户同意报价")
    # impl_queue: a consultation and a routed problem
    new(3, open_units[4], "online")
    t = new(5, open_units[5]); act(t, "route_to_impl", "dev_manager", reason="属于实施配置问题")
    # assigned: deadline not yet told; another told; one overdue-looking soon
    t = new(0, open_units[6]); act(t, "assign", "dev_manager", assignee_id=eng.id, deadline=soon, analysis="打印模板配置错误")
    t = new(1, open_units[7]); act(t, "assign", "dev_manager", assignee_id=eng.id, deadline=soon)
    act(t, "notify_deadline", "cs", whom="刘建国", method="phone")
    # waiting for the customer (its clock stopped)
    t = new(5, open_units[5]); act(t, "assign", "dev_manager", assignee_id=u["engineer2"].id, deadline=soon)
    act(t, "notify_deadline", "cs", whom="吴静", method="phone")
    act(t, "wait_customer", "engineer2", reason="等待客户提供出错时的日志截图")
    # resolved (awaiting callback)
    t = new(4, open_units[0]); act(t, "assign", "dev_manager", assignee_id=eng.id, deadline=soon)
    act(t, "notify_deadline", "cs", whom="马超", method="phone")
    act(t, "resolve", "engineer", process="检查备份脚本，发现磁盘空间不足", result="清理空间并调整备份策略", hours_spent=Decimal("3"))
    # callback_done (awaiting closure)
    t = new(5, open_units[1]); act(t, "assign", "dev_manager", assignee_id=u["engineer2"].id, deadline=soon)
    act(t, "notify_deadline", "cs", whom="吴静", method="phone")
    act(t, "resolve", "engineer2", process="核对明细", result="修正汇总口径", hours_spent=Decimal("2.5"))
    act(t, "callback", "cs", solved=True, satisfaction=5, method="phone", text="客户确认已解决，很满意")
    # closed: solved, answered, declined, invalid
    t = new(1, open_units[2]); act(t, "assign", "dev_manager", assignee_id=eng.id, deadline=soon)
    act(t, "notify_deadline", "cs", whom="孙丽", method="phone")
    act(t, "resolve", "engineer", process="优化首页查询", result="首页加载降到 2 秒", hours_spent=Decimal("5"))
    act(t, "callback", "cs", solved=True, satisfaction=4, method="phone", text="已解决")
    act(t, "close", "market", note="")
    t = new(7, open_units[3], "online"); act(t, "answer", "impl_engineer", answer="支持 Chrome、Edge 最新两个版本及 360 极速模式")
    t = new(6, stopped[0]); act(t, "record_contact", "market", outcome="declined", text="客户暂不续费")
    t = new(0, open_units[4]); act(t, "reject", "dev_manager", reason="与已登记问题重复")

