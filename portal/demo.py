"""Demo data for a first start: one user per role, a dozen units, tickets in every state.

The tickets are driven through the real workflow, so their history is what staff would
have produced. For demonstration only: every demo account has the same known password.
"""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from portal.auth.models import User
from portal.auth.operations import create_user
from portal.core.enums import MaintenanceStatus, Role
from portal.core.timeutil import utcnow
from portal.customers.models import Contact, Contract, CustomerUnit
from portal.complaints import operations as complaints
from portal.customers.operations import create_unit
from portal.documents import letterhead
from portal.documents.models import Letterhead
from portal.extensions import db
from portal.hotline.models import HotlineRecord
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


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def load_demo_data() -> bool:
    if _user("cs") is not None:
        return False
    for username, name, roles, dept in USERS:
        create_user(username, DEMO_PASSWORD, name, roles, dept)
    today = date.today()
    units = []
    for i, (name, address, phone, users, status) in enumerate(UNITS):
        unit = create_unit(name, address=address, phone=phone, user_count=users, status=status)
        units.append(unit)
        for j in range(2):
            p = PEOPLE[(i + j) % len(PEOPLE)]
            db.session.add(Contact(customer_id=unit.id, name=p[0], department=p[1], phone=p[2],
                                   email=f"contact{i}{j}@example.cn"))
        start = today - timedelta(days=300 - i * 20)
        db.session.add(Contract(customer_id=unit.id, start_date=start - timedelta(days=365),
                                end_date=start - timedelta(days=1), fee=Decimal("0"), free_year=True,
                                note="购买后首年免费维护"))
        db.session.add(Contract(customer_id=unit.id, start_date=start, end_date=start + timedelta(days=364),
                                fee=Decimal(20000 + 5000 * (i % 4)), note="年度维护合同"))
    db.session.flush()

    u = {name: _user(name) for name, *_ in USERS}
    soon = utcnow() + timedelta(days=3)
    past = utcnow() + timedelta(minutes=1)
    open_units = [x for x in units if x.maintenance_status != MaintenanceStatus.STOPPED.value]
    stopped = [x for x in units if x.maintenance_status == MaintenanceStatus.STOPPED.value]

    def new(kind_index: int, unit: CustomerUnit, channel: str = "hotline"):
        kind, summary, desc = PROBLEMS[kind_index % len(PROBLEMS)]
        p = PEOPLE[kind_index % len(PEOPLE)]
        return ops.register_ticket(u["cs"], ops.Intake(channel=channel, customer_id=unit.id, type=kind,
                                                     reporter_name=p[0], reporter_dept=p[1], reporter_phone=p[2],
                                                     summary=summary, description=desc))

    def act(t, action, who, **data):
        ops.take_action(t, action, u[who], data)

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

    db.session.add(HotlineRecord(unit_name=UNITS[8][0], address=UNITS[8][1], phone="13612345678", contact_name="钱进",
                                 content="系统登录时提示密码过期，无法修改密码", handling="已记录，待登记",
                                 customer_id=units[8].id, recorded_by_id=u["cs"].id))
    return True
