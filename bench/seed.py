"""Bulk synthetic data for benchmarks: `flask --app app seed-bench --tickets N --customers M`.

What one run adds (it appends: ids continue after the current maximum, nothing is changed or deleted):

* the bench users, if missing — one per role plus several engineers (`BENCH_USERS`): bench_cs, bench_cs2,
  bench_cs3, bench_dev_manager, bench_engineer1..20, bench_impl_manager, bench_impl_engineer1..6, bench_market,
  bench_market2, bench_market_manager, bench_admin. All of them have the password ``bench-pass-2026``
  (`BENCH_PASSWORD`); `BENCH_PASSWORD_HASH` is its argon2id hash with argon2-cffi's default parameters, computed
  once and pasted here, so creating the users costs nothing and a login costs what it costs in production
  (no rehash on first login). For benchmark databases only.
* M customer units (city + district + institution, unique; pinyin initials; address, landline, 用户数; status
  about 20 % VIP, 65 % ordinary, 15 % stopped, each status change recorded), 1–3 contacts and 1–2 maintenance
  contracts each;
* N tickets spread over the last three years, ids in the order they were registered, every type, channel and
  state. Each ticket's columns, its history (events), its `TicketAssignee` row and its callbacks are what
  `portal.tickets.workflow` would have produced had staff driven it there action by action: the register event,
  then every transition that led to its state, in time order, with from/to states. Tickets registered in the
  last days are still open; about 1 % of older ones are stuck somewhere on the way (as in real life); the last
  tickets of every run cover every (type, state, closing reason) so even a tiny run has them all.
  About 10 % of the tickets carry a few internal notes (comments); the first ticket of every run and every
  1000th after it has exactly 30 events (the benchmark's "ticket page with 30 events").

Speed: the workflow is not called per ticket (it issues several queries per action). Rows are built in Python
with explicit ids and written in bulk — executemany on SQLite, COPY on PostgreSQL (see `_Writer`) — one
transaction per 10,000 tickets, on a dedicated connection: on SQLite with ``synchronous=OFF`` and a large page
cache during the load, on PostgreSQL with ``synchronous_commit=off``. Every constraint (CHECK, UNIQUE, foreign
keys) is enforced during the load. PostgreSQL sequences are moved past the new ids at the end. Do not run it
while the portal is writing to the same database (the ids are computed here).

The effects of every action are mirrored in `_Builder.apply`; if the workflow changes, change them too —
tests/test_seed_bench.py checks the invariants. Not generated: notifications (they are the to-do list of the
moment, not history), attachments, hotline records.

Deterministic: the same `random_seed` and `now` on the same database state give the same data.
"""
from __future__ import annotations

import bisect
import functools
import json
import operator
import random
import time
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Callable, Iterator

import click
from sqlalchemy import JSON, Date, DateTime, Numeric, func, select

from bench import seed_clocks
from portal.auth.models import User, UserRole
from portal.auth.operations import ensure_departments
from portal.core.enums import CloseReason, MaintenanceStatus, Role, State, TicketType
from portal.core.timeutil import utcnow
from portal.core.validators import normalize_cn_phone
from portal.customers.models import Contact, Contract, CustomerUnit, MaintenanceStatusChange
from portal.customers.operations import initials_of
from portal.extensions import db
from portal.tickets.models import Callback, Event, Ticket, TicketAssignee, TicketLink

BENCH_PASSWORD = "bench-pass-2026"
BENCH_PASSWORD_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$3X4NYyYYqATB3C0Uj5QugA$UIGLgmXm6NmBEv2XLwq7ZD7gI0D+udGA/P/5rtDzvKs"
)
# username, display name, roles, department key
BENCH_USERS: list[tuple[str, str, list[Role], str | None]] = [
    ("bench_cs", "王芳", [Role.CS], "cs"),
    ("bench_cs2", "李娜", [Role.CS], "cs"),
    ("bench_cs3", "张秀英", [Role.CS], "cs"),
    ("bench_dev_manager", "李强", [Role.DEV_MANAGER], "dev"),
    *[(f"bench_engineer{i}", name, [Role.ENGINEER], "dev") for i, name in enumerate(
        "张伟 刘洋 王磊 陈杰 杨帆 赵鹏 黄涛 周斌 吴昊 徐超 孙浩 胡军 朱明 高峰 林波 何亮 郭勇 马骏 罗毅 梁宇".split(), 1)],
    ("bench_impl_manager", "陈静", [Role.IMPL_MANAGER], "impl"),
    *[(f"bench_impl_engineer{i}", name, [Role.IMPL_ENGINEER], "impl") for i, name in enumerate(
        "杨磊 宋晨 郑凯 谢飞 韩冰 唐宁".split(), 1)],
    ("bench_market", "赵敏", [Role.MARKET], "market"),
    ("bench_market2", "钱丽", [Role.MARKET], "market"),
    ("bench_market_manager", "周杰", [Role.MARKET_MANAGER, Role.MARKET], "market"),
    ("bench_admin", "系统管理员", [Role.ADMIN], None),
]

SPAN = timedelta(days=3 * 365)  # tickets are spread over the last three years
BATCH = 10_000  # tickets per transaction
LONG_EVERY = 1000  # run index 0, 1000, 2000, … gets a 30-event history
LONG_EVENTS = 30

# ---------------------------------------------------------------------------
# Word lists
# ---------------------------------------------------------------------------

# (city, area code, districts)
CITIES = [
    ("北京市", "010", "东城区 西城区 朝阳区 海淀区 丰台区 通州区 昌平区 大兴区"),
    ("上海市", "021", "黄浦区 徐汇区 长宁区 静安区 浦东新区 闵行区 宝山区 嘉定区"),
    ("天津市", "022", "和平区 河西区 南开区 河北区 滨海新区 西青区"),
    ("重庆市", "023", "渝中区 江北区 沙坪坝区 九龙坡区 南岸区 渝北区"),
    ("广州市", "020", "天河区 越秀区 海珠区 荔湾区 白云区 番禺区"),
    ("深圳市", "0755", "福田区 罗湖区 南山区 宝安区 龙岗区 龙华区"),
    ("杭州市", "0571", "上城区 拱墅区 西湖区 滨江区 萧山区 余杭区"),
    ("南京市", "025", "玄武区 秦淮区 鼓楼区 建邺区 栖霞区 江宁区"),
    ("苏州市", "0512", "姑苏区 吴中区 相城区 吴江区 虎丘区"),
    ("武汉市", "027", "江岸区 江汉区 武昌区 洪山区 汉阳区 青山区"),
    ("成都市", "028", "锦江区 青羊区 金牛区 武侯区 成华区 双流区"),
    ("西安市", "029", "新城区 碑林区 莲湖区 雁塔区 未央区 长安区"),
    ("郑州市", "0371", "中原区 二七区 金水区 管城回族区 惠济区"),
    ("长沙市", "0731", "芙蓉区 天心区 岳麓区 开福区 雨花区"),
    ("济南市", "0531", "历下区 市中区 槐荫区 天桥区 历城区"),
    ("青岛市", "0532", "市南区 市北区 黄岛区 崂山区 李沧区 城阳区"),
    ("沈阳市", "024", "和平区 沈河区 大东区 皇姑区 铁西区 浑南区"),
    ("大连市", "0411", "中山区 西岗区 沙河口区 甘井子区 旅顺口区"),
    ("哈尔滨市", "0451", "道里区 南岗区 道外区 香坊区 松北区"),
    ("长春市", "0431", "南关区 宽城区 朝阳区 二道区 绿园区"),
    ("合肥市", "0551", "瑶海区 庐阳区 蜀山区 包河区"),
    ("福州市", "0591", "鼓楼区 台江区 仓山区 晋安区 马尾区"),
    ("厦门市", "0592", "思明区 湖里区 集美区 海沧区 同安区"),
    ("南昌市", "0791", "东湖区 西湖区 青云谱区 青山湖区 红谷滩区"),
    ("昆明市", "0871", "五华区 盘龙区 官渡区 西山区 呈贡区"),
    ("南宁市", "0771", "兴宁区 青秀区 江南区 西乡塘区 良庆区"),
    ("贵阳市", "0851", "南明区 云岩区 花溪区 乌当区 白云区 观山湖区"),
    ("太原市", "0351", "小店区 迎泽区 杏花岭区 万柏林区 晋源区"),
    ("石家庄市", "0311", "长安区 桥西区 新华区 裕华区"),
    ("兰州市", "0931", "城关区 七里河区 西固区 安宁区"),
    ("乌鲁木齐市", "0991", "天山区 沙依巴克区 新市区 水磨沟区"),
    ("宁波市", "0574", "海曙区 江北区 北仑区 鄞州区 镇海区"),
    ("无锡市", "0510", "梁溪区 滨湖区 新吴区 锡山区 惠山区"),
]
INSTITUTIONS = (
    "人民医院 第一人民医院 第二人民医院 中医院 中心医院 妇幼保健院 口腔医院 精神卫生中心 急救中心 "
    "疾病预防控制中心 卫生健康委员会 医疗保障局 财政局 税务局 教育局 人力资源和社会保障局 社会保险事业管理中心 "
    "公安分局 档案馆 图书馆 文化馆 住房和城乡建设局 自然资源局 生态环境局 市场监督管理局 民政局 审计局 统计局 "
    "交通运输局 水务局 农业农村局 商务局 应急管理局 退役军人事务局 司法局 人民法院 人民检察院 政务服务中心 "
    "不动产登记中心 住房公积金管理中心 实验小学 第一中学 第二中学 职业技术学校 科技局 发展和改革局 城市管理局 "
    "体育局 融媒体中心 国有资产监督管理局 机关事务管理局 人民政府办公室 血站 眼科医院"
).split()
# Grassroots units named after their street or town (only used once the names above run out).
STREETS = (
    "城关街道 新华街道 人民路街道 东风街道 解放街道 建设街道 和平街道 长安街道 文化街道 光明街道 胜利街道 红旗街道 "
    "东关街道 西关街道 城东街道 城西街道 城南街道 城北街道 新城街道 开发区街道 金山镇 青山镇 白沙镇 石桥镇 柳林镇 "
    "桃园镇 杨柳镇 马家镇 李庄镇 王庄镇 高桥镇 龙泉镇 凤凰镇 花园镇 清水镇 永安镇 太平镇 新安镇 黄土镇 东湖镇"
).split()
GRASSROOTS = "社区卫生服务中心 卫生院 中心小学 初级中学 派出所 财政所 司法所 便民服务中心 社会事务办".split()
ROADS = (
    "人民路 解放路 中山路 建设路 胜利路 和平路 文化路 新华路 长江路 黄河路 迎宾大道 世纪大道 科技路 学府路 "
    "健康路 光明路 青年路 东风路 北京路 南京路 府前街 育才路 滨河路 环城路"
).split()

SURNAMES = (
    "王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 胡 郭 何 高 林 罗 郑 梁 谢 宋 唐 许 韩 冯 邓 曹 彭 曾 肖 田 董 袁 潘 "
    "于 蒋 蔡 余 杜 叶 程 苏 魏 吕 丁 任 沈 姚 卢 姜 崔 钟 谭 陆 汪 范 金 石 廖 贾 夏 韦 付 方 白 邹 孟 熊 秦 邱 江 尹 "
    "薛 闫 段 雷 侯 龙 史 陶 黎 贺 顾 毛 郝 龚 邵 万 钱 严 覃 武 戴 莫 孔 向 汤"
).split()
GIVEN = (
    "伟 芳 娜 秀英 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀兰 霞 平 刚 桂英 华 建国 建华 国强 志强 海燕 红 "
    "晓东 晓明 丽娟 文 斌 宇 浩 鑫 婷 雪 琳 凯 鹏 欣 颖 玉兰 建军 春梅 海波 志刚 淑珍 文静 思远 佳怡 子涵 梓萱 一鸣 "
    "俊杰 晓燕 丹 萍 健 亮 辉 博 悦 倩 琦 晨 瑶"
).split()
DEPTS = (
    "信息科 财务科 办公室 人事科 药剂科 医务科 护理部 档案室 总务科 设备科 收费处 门诊部 住院部 检验科 放射科 "
    "教务处 学生处 综合科 计财科 征收科 稽查科 审批科 法规科 后勤处 信息中心 数据中心 服务窗口 档案科 统计科 监察室"
).split()
MOBILE_PREFIXES = (
    "130 131 132 133 135 136 137 138 139 150 151 152 153 155 156 157 158 159 166 176 177 180 181 182 183 185 "
    "186 187 188 189 199"
).split()

MODULES = (
    "门诊收费系统 住院结算系统 财务核算系统 人事档案系统 工资管理系统 固定资产系统 合同管理系统 OA系统 公文流转系统 "
    "药品库存系统 预约挂号系统 医保结算系统 电子病历系统 档案管理系统 社保缴费系统 不动产登记系统 行政审批系统 "
    "统计报表系统 数据交换平台 移动办公App"
).split()
MAINTENANCE_PROBLEMS = (
    "打印机无法打印 报表导出失败 登录超时 登录后页面空白 修改密码后仍无法登录 月报统计数字不一致 数据备份任务失败 "
    "发票打印格式错位 医保接口连接超时 查询速度很慢 导入Excel时报错 工资计算结果错误 单据无法保存 审批流程卡住不动 "
    "附件上传失败 页面显示乱码 扫码枪扫描无反应 短信提醒没有发送 数据库连接中断 客户端升级失败 权限设置不生效 "
    "报表缺少部分字段 自动对账结果不平 凭证号重复 库存数量出现负数 退号后号源未释放 排班表保存后丢失 日志占满服务器磁盘 "
    "服务器CPU占用过高 接口返回错误代码 统计图表不显示 导出PDF中文乱码 打印预览正常但打印空白 年度结转失败 "
    "数据同步延迟 电子签章验证失败 证书过期无法登录 复制粘贴后格式混乱 系统频繁自动退出 批量删除后数据仍显示"
).split()
REQUIREMENTS = (
    "希望增加按科室导出Excel的功能 新增到期短信提醒功能 增加移动端审批 报表增加按月汇总 希望支持批量导入人员信息 "
    "增加电子签章 对接医保新版接口 增加领导查询大屏 支持微信消息通知 增加操作日志查询 首页增加待办事项提醒 "
    "打印模板支持自定义 增加数据权限按科室控制 支持扫码登记 增加年度对比分析报表 与OA系统统一登录 "
    "增加附件在线预览 支持国产操作系统和浏览器 增加自动备份到异地 增加批量打印功能"
).split()
CONSULTATIONS = (
    "如何批量导入新员工信息 系统支持哪些浏览器 如何修改打印模板 年底结账操作步骤 如何设置审批流程 数据如何备份到本地 "
    "新电脑如何安装客户端 如何开通新用户账号 如何查询历史单据 忘记管理员密码怎么办 如何调整报表列顺序 "
    "医保目录更新后需要做什么 如何设置科室权限 如何导出全年明细 系统能否在手机上使用 如何恢复误删除的数据"
).split()
OPENINGS = (
    "今天上午开始， 从昨天下午起， 最近一周以来， 系统升级之后， 月底结账时， 早上八点到九点之间， 换了新电脑以后， "
    "上周五开始， 今天一上班， 连续三天都是这样，"
).split()
BUTTONS = "保存 提交 打印 导出 查询 审核 确定 上传 结算 登录".split()
ERRORS = (
    "连接超时，请稍后重试|对象引用未设置到对象的实例|HTTP 500 内部服务器错误|打印机脱机|磁盘空间不足|"
    "会话已过期，请重新登录|数据格式不正确|无效的用户名或密码|证书已过期|内存不足|文件被占用|网络连接已断开"
).split("|")
IMPACTS = (
    "影响全科室正常办公。|目前只能手工处理，工作量很大。|重启电脑后问题依旧。|换了一台电脑也一样。|"
    "其他科室暂未发现类似情况。|窗口排队的人很多，比较着急。|领导要求本周内解决。|偶尔能成功，大部分时候失败。"
).split("|")
REQUESTS = ("请尽快安排工程师处理。|麻烦尽快联系。|希望今天之内解决。|请远程协助查看。||").split("|")
REQ_REASONS = (
    "目前每月需要手工汇总，耗时两天左右。|上级部门新出台了管理要求，需要系统支持。|使用人员较多，希望操作更简便。|"
    "领导希望随时查看汇总情况。|现在要在两个系统里重复录入。"
).split("|")
ANALYSES = (
    "打印模板配置错误|数据库索引缺失导致查询慢|客户端版本过旧|服务器磁盘空间不足|接口地址变更未同步|权限缓存未刷新|"
    "浏览器兼容模式导致|报表口径与业务理解不一致|网络策略拦截了接口端口|定时任务配置错误|证书到期未续签|程序缺陷，需发布补丁"
).split("|")
FEE_ANALYSES = ("属于新增需求，需与客户确定费用|超出合同约定的维护范围，需报价|需要定制开发，工作量约十人天|"
                "涉及第三方接口改造，需评估费用").split("|")
PROCESSES = (
    "远程登录客户服务器查看日志，定位到问题原因|现场检查客户端配置并复现问题|核对数据库数据与明细记录|"
    "在测试环境复现后修改程序|联系第三方接口厂商共同排查|检查打印机驱动和模板设置|分析慢查询日志并优化语句"
).split("|")
RESULTS = (
    "已修改配置，问题解决|已发布补丁并升级客户端|清理磁盘空间并调整备份策略|重新设置打印模板后打印正常|"
    "优化查询后页面加载降到两秒以内|修正数据并补录缺失记录|更新证书后可以正常登录|调整权限后用户可以正常使用"
).split("|")
ANSWERS = (
    "已电话指导客户完成操作|已发送操作手册并远程演示|支持 Chrome、Edge 最新两个版本及 360 极速模式|"
    "已告知操作步骤，客户表示清楚|已远程协助完成设置|该功能在“系统设置—模板管理”中，已截图说明"
).split("|")
CALLBACK_GOOD = ("客户确认已解决，很满意|已解决，客户表示感谢|使用正常，无其他问题|客户反馈处理及时").split("|")
CALLBACK_BAD = ("客户反映问题仍然存在|只解决了一部分，报表仍有差异|当天正常，第二天又出现").split("|")
CONTACT_PROCEED = ("客户已续签维护合同，可以处理|客户同意按次付费|客户承诺本月内续费，先行处理").split("|")
CONTACT_DECLINED = ("客户暂不续费|客户表示自行处理|客户单位预算未批，暂不处理").split("|")
FEE_AGREED = ("客户同意报价|经协商按优惠价执行|客户签字确认需求和费用").split("|")
FEE_DECLINED = ("客户认为费用过高，暂不开发|客户预算不足，放弃该需求|客户改用其他方案").split("|")
URGENT_REQUESTS = ("客户来函要求优先处理|客户邮件说明影响窗口业务，申请加急|客户领导致函要求当天解决").split("|")
REJECT_REASONS = ("与已登记问题重复|客户操作失误，非系统问题|客户已自行解决，撤销|信息不全，多次联系不上客户").split("|")
ROUTE_REASONS = ("属于实施配置问题|需要现场调整部署环境|属于实施阶段遗留问题").split("|")
NOTIFY_TEXTS = ("已电话告知客户预计解决时间|客户表示可以接受|已告知，客户希望尽快||").split("|")
CLOSE_NOTES = ("回访满意，关闭|").split("|")
COMMENTS = (
    "已联系客户，约定明天上午远程|客户补充了截图|客户说下午再试一次|需要客户提供服务器账号|已请开发部协助|"
    "客户催问进度|补丁已在测试环境验证|客户单位网络维护中，暂缓|已发邮件确认细节|等待第三方厂商回复|"
    "客户提供了出错时间段的日志|现场工程师已出发|和客户信息科确认了版本号|今天客户不在单位，改约时间"
).split("|")

CHANNELS = ["hotline", "online", "email", "visit"]

S_AWAIT, S_REG, S_FEE, S_READY, S_IMPL, S_ASSIGNED, S_RESOLVED, S_CB, S_CLOSED = (
    State.AWAITING_MARKET.value, State.REGISTERED.value, State.PENDING_FEE.value, State.READY_TO_ASSIGN.value,
    State.IMPL_QUEUE.value, State.ASSIGNED.value, State.RESOLVED.value, State.CALLBACK_DONE.value,
    State.CLOSED.value)
S_WAIT = State.WAITING_CUSTOMER.value
WAIT_REASONS = ("等待客户提供出错时的日志|等待客户确定上门时间|等待客户提供测试数据").split("|")
SOLVED, ANSWERED, DECLINED, INVALID = (r.value for r in CloseReason)
MAINT, REQ, CONSULT = (t.value for t in TicketType)

# The last tickets of every run: (type, state it stops in, how it ends, needs a stopped unit, routed, urgent).
# Together they contain every state, type and closing reason whatever N is.
COVER = [
    (MAINT, S_AWAIT, SOLVED, True, False, False),
    (MAINT, S_REG, SOLVED, False, False, False),
    (MAINT, S_REG, SOLVED, False, False, True),
    (MAINT, S_IMPL, SOLVED, False, True, False),
    (MAINT, S_ASSIGNED, SOLVED, False, False, False),
    (MAINT, S_WAIT, SOLVED, False, False, False),
    (MAINT, S_RESOLVED, SOLVED, False, False, False),
    (MAINT, S_CB, SOLVED, False, False, False),
    (MAINT, S_CLOSED, SOLVED, False, False, True),
    (MAINT, S_CLOSED, INVALID, False, False, False),
    (MAINT, S_CLOSED, DECLINED, True, False, False),
    (REQ, S_REG, SOLVED, False, False, False),
    (REQ, S_FEE, SOLVED, False, False, False),
    (REQ, S_READY, SOLVED, False, False, False),
    (REQ, S_ASSIGNED, SOLVED, False, False, False),
    (REQ, S_CLOSED, DECLINED, False, False, False),
    (REQ, S_CLOSED, SOLVED, False, False, False),
    (CONSULT, S_IMPL, ANSWERED, False, False, False),
    (CONSULT, S_CLOSED, ANSWERED, False, False, False),
    (CONSULT, S_AWAIT, ANSWERED, True, False, False),
    (CONSULT, S_CLOSED, INVALID, False, False, False),
]

_TICKET_COLUMNS = [c.name for c in Ticket.__table__.columns]


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------

def seed(tickets: int, customers: int, echo: Callable[[str], object] = print, random_seed: int = 2026,
         batch_size: int = BATCH, now: datetime | None = None) -> None:
    """Append `customers` units and `tickets` tickets (with history) of synthetic data. See the module doc.

    `now` (naive UTC, default: the current time) is the end of the three years the tickets are spread over.
    """
    if tickets < 0 or customers < 0:
        raise click.UsageError("--tickets 和 --customers 不能为负数")
    started = time.perf_counter()
    users = _ensure_bench_users()
    db.session.commit()
    now = now or utcnow()
    with _bulk_connection() as conn:
        writer, ids = _Writer(conn), _NextIds(conn)
        rng = _Random(f"bench:{random_seed}:{ids.peek(Ticket)}:{ids.peek(CustomerUnit)}")
        _add_units(writer, ids, rng, customers, users, now, echo, random_seed)
        units = _Units.load(conn)
        if tickets and not units.all:
            raise click.UsageError("没有客户单位：请同时给出 --customers")
        first_ticket = ids.peek(Ticket)
        _add_tickets(writer, ids, rng, tickets, units, users, now, echo, batch_size)
        for key, n in seed_clocks.add_clocks(conn, first_ticket, now, echo).items():  # issue 15: service-level clocks
            writer.counts[f"service_clocks.{key}"] = n
        _finish_postgres(conn)
        seed_clocks.vacuum(conn)
    rows = ", ".join(f"{n:,} {table}" for table, n in writer.counts.items())
    echo(f"seed-bench: {customers} units, {tickets} tickets in {time.perf_counter() - started:.1f} s ({rows})")


# ---------------------------------------------------------------------------
# Plumbing: a dedicated connection with loader settings, explicit ids
# ---------------------------------------------------------------------------

@contextmanager
def _bulk_connection():
    """One connection for the whole load, tuned for bulk writes and restored afterwards."""
    with db.engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            raw = conn.connection.driver_connection  # outside any transaction (autocommit mode)
            raw.execute("PRAGMA synchronous=OFF")  # a crash mid-load loses the load, nothing else
            raw.execute("PRAGMA cache_size=-262144")  # 256 MB
        else:
            conn.exec_driver_sql("SET synchronous_commit TO off")
            conn.commit()
        try:
            yield conn
        finally:
            conn.rollback()
            if sqlite:
                raw.execute("PRAGMA synchronous=NORMAL")
                raw.execute("PRAGMA cache_size=-2000")
            else:
                conn.exec_driver_sql("RESET synchronous_commit")
                conn.commit()


class _NextIds:
    """Ids computed here so bulk inserts need no RETURNING."""

    def __init__(self, conn):
        self._next = {}
        for model in (CustomerUnit, Contact, Contract, MaintenanceStatusChange, Ticket, Event, Callback, TicketLink):
            self._next[model] = (conn.scalar(select(func.max(model.id))) or 0) + 1

    def peek(self, model) -> int:
        return self._next[model]

    def take(self, model) -> int:
        n = self._next[model]
        self._next[model] = n + 1
        return n


class _Writer:
    """Bulk INSERTs with explicit ids: executemany on SQLite, COPY on PostgreSQL.

    SQLAlchemy's per-row parameter processing cost more than SQLite's own work, so each value is converted once,
    the way SQLAlchemy's column types would store it (SQLite: DateTime as 'YYYY-MM-DD HH:MM:SS.ffffff', Numeric as
    REAL, JSON as json.dumps text), and the rows go straight to the driver.
    """

    def __init__(self, conn):
        self.conn = conn
        self.postgres = conn.dialect.name == "postgresql"
        self.counts: dict[str, int] = {}  # rows written per table
        self._tables: dict[type, tuple] = {}

    def _spec(self, model) -> tuple:
        if model not in self._tables:
            columns = list(model.__table__.columns)
            names = [c.name for c in columns]
            quote = self.conn.dialect.identifier_preparer.quote
            column_list = ", ".join(quote(n) for n in names)
            if self.postgres:
                sql = f"COPY {quote(model.__tablename__)} ({column_list}) FROM STDIN"
            else:
                sql = f"INSERT INTO {quote(model.__tablename__)} ({column_list}) VALUES ({', '.join('?' * len(names))})"
            converters = [(i, f) for i, c in enumerate(columns) if (f := self._converter(c.type))]
            self._tables[model] = (sql, operator.itemgetter(*names), converters)
        return self._tables[model]

    def _converter(self, type_) -> Callable | None:
        if isinstance(type_, JSON):
            return _json
        if self.postgres:
            return None  # psycopg adapts datetimes, Decimals and booleans itself
        if isinstance(type_, DateTime):
            return _sqlite_datetime
        if isinstance(type_, Date):
            return date.isoformat
        if isinstance(type_, Numeric):
            return float
        return None

    def write(self, model, rows: list[dict]) -> None:
        if not rows:
            return
        sql, get, converters = self._spec(model)
        values = []
        for row in rows:
            v = get(row)
            if converters:
                v = list(v)
                for i, f in converters:
                    if v[i] is not None:
                        v[i] = f(v[i])
                v = tuple(v)
            values.append(v)
        if self.postgres:
            with self.conn.connection.driver_connection.cursor() as cursor, cursor.copy(sql) as copy:
                for v in values:
                    copy.write_row(v)
        else:
            self.conn.exec_driver_sql(sql, values)
        table = model.__tablename__
        self.counts[table] = self.counts.get(table, 0) + len(rows)

    def commit(self) -> None:
        self.conn.commit()


def _sqlite_datetime(value: datetime) -> str:
    return value.isoformat(" ", "microseconds")


def _json(value) -> str:
    return json.dumps(value) if value else "{}"


def _finish_postgres(conn) -> None:
    """Move the sequences past the explicit ids, and VACUUM (ANALYZE) the loaded tables now: statistics for
    the planner and an all-visible map for index-only scans (autovacuum would only get to it later, after the
    first benchmark requests)."""
    if conn.dialect.name != "postgresql":
        return  # SQLite's INTEGER PRIMARY KEY continues after max(rowid) by itself
    for model in (CustomerUnit, Contact, Contract, MaintenanceStatusChange, Ticket, Event, Callback, TicketLink):
        table = model.__tablename__
        conn.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {table}), 1), (SELECT MAX(id) FROM {table}) IS NOT NULL)"
        )
    conn.commit()
    # VACUUM (ANALYZE), not just ANALYZE: besides the statistics it sets the visibility map of the freshly
    # loaded pages, so index-only scans (queue counts, id-first previews) need not visit the heap. VACUUM
    # cannot run inside a transaction: the raw psycopg connection is switched to autocommit for it.
    raw = conn.connection.driver_connection
    raw.autocommit = True
    try:
        raw.execute("VACUUM (ANALYZE) customer_units, contacts, contracts, maintenance_status_changes, tickets, "
                    "events, ticket_assignees, callbacks, ticket_links")
    finally:
        raw.autocommit = False


def _cumulative(weights: list[int]) -> list[int]:
    out, total = [], 0
    for w in weights:
        total += w
        out.append(total)
    return out


class _Random(random.Random):
    """random.Random with a cheaper choice(): one float per pick instead of rejection sampling on random bits
    (plenty for word lists, and several times faster — it is called tens of millions of times)."""

    def choice(self, seq):
        return seq[int(self.random() * len(seq))]


class _Weights:
    """Pick a value from [(value, weight), …]."""

    def __init__(self, pairs):
        self.values = [v for v, _ in pairs]
        self.cumulative = _cumulative([w for _, w in pairs])

    def pick(self, r: random.Random):
        return self.values[bisect.bisect(self.cumulative, r.random() * self.cumulative[-1])]


STATUS_WEIGHTS = _Weights([(MaintenanceStatus.VIP.value, 20), (MaintenanceStatus.ORDINARY.value, 65),
                           (MaintenanceStatus.STOPPED.value, 15)])
TYPE_WEIGHTS = _Weights([(TicketType.MAINTENANCE.value, 60), (TicketType.REQUIREMENT.value, 22),
                         (TicketType.CONSULTATION.value, 18)])
CHANNEL_WEIGHTS = _Weights(list(zip(CHANNELS, [50, 25, 15, 10])))
SATISFIED = _Weights([(5, 55), (4, 33), (3, 8), (2, 3), (1, 1)])  # callback scores when solved …
DISSATISFIED = _Weights([(3, 40), (2, 40), (1, 20)])  # … and when not


# ---------------------------------------------------------------------------
# Users
# ---------------------------------------------------------------------------

class _Users:
    def __init__(self, by_username: dict[str, User]):
        def ids(prefix):
            return [u.id for name, u in sorted(by_username.items()) if name.rstrip("0123456789") == prefix]

        self.cs = ids("bench_cs")
        self.dev_manager = ids("bench_dev_manager")
        self.engineers = ids("bench_engineer")
        self.impl_manager = ids("bench_impl_manager")
        self.impl_engineers = ids("bench_impl_engineer")
        self.market = ids("bench_market") + ids("bench_market_manager")
        self.market_manager = ids("bench_market_manager")
        self.names = {u.id: u.display_name for u in by_username.values()}


def _ensure_bench_users() -> _Users:
    departments = ensure_departments()
    existing = {u.username: u for u in db.session.scalars(
        select(User).where(User.username.in_([name for name, *_ in BENCH_USERS])))}
    for username, display_name, roles, dept in BENCH_USERS:
        if username in existing:
            continue
        user = User(username=username, display_name=display_name, password_hash=BENCH_PASSWORD_HASH,
                    department=departments.get(dept) if dept else None)
        user.role_rows = [UserRole(role=r.value) for r in roles]
        db.session.add(user)
        existing[username] = user
    db.session.flush()
    return _Users(existing)


# ---------------------------------------------------------------------------
# Customer units, contacts, contracts
# ---------------------------------------------------------------------------

def _person(r: random.Random) -> tuple[str, str, str]:
    """(name, 科室, mobile) of someone at a customer unit."""
    return (r.choice(SURNAMES) + r.choice(GIVEN), r.choice(DEPTS),
            r.choice(MOBILE_PREFIXES) + f"{r.randrange(100_000_000):08d}")


AREA_CODES = frozenset(area for _, area, _ in CITIES)


@functools.cache
def _local_digits(area: str) -> int:
    """Local numbers have 8 digits in most cities, 7 in some (as phonenumbers' metadata knows)."""
    return 8 if normalize_cn_phone(f"{area}-62345678") else 7


def _landline(r: random.Random, area: str) -> str:
    """A landline of the area that portal.core.validators accepts, in its canonical form."""
    digits = _local_digits(area)
    while True:  # a few number ranges are unassigned: draw again
        number = f"{area}-{r.randint(2, 7)}{r.randrange(10 ** (digits - 1)):0{digits - 1}d}"
        if normalize_cn_phone(number) == number:
            return number


def _unit_names(r: random.Random) -> Iterator[tuple[str, str, str, str]]:
    """(name, city, district, area code), in a fixed shuffled order; the caller skips names already taken."""
    places = [(city, area, d) for city, area, districts in CITIES for d in districts.split()]
    layer = [(f"{c}{d}{inst}", c, d, a) for c, a, d in places for inst in INSTITUTIONS]
    r.shuffle(layer)
    yield from layer
    layer = [(f"{c}{d}{s}{inst}", c, d, a) for c, a, d in places for s in STREETS for inst in GRASSROOTS]
    r.shuffle(layer)
    yield from layer
    k = 2
    while True:  # beyond ~80,000 units: numbered branches
        for name, c, d, a in layer:
            yield f"{name}第{k}分部", c, d, a
        k += 1


def _add_units(writer: _Writer, ids: _NextIds, rng: random.Random, count: int, users: _Users, now: datetime,
               echo, random_seed: int) -> None:
    if not count:
        return
    taken = set(writer.conn.scalars(select(CustomerUnit.name)))
    names = _unit_names(_Random(f"units:{random_seed}"))
    today = (now + timedelta(hours=8)).date()
    market_manager = users.market_manager[0]
    units, contacts, contracts, changes = [], [], [], []
    for _ in range(count):
        name, city, district, area = next(names)
        while name in taken:
            name, city, district, area = next(names)
        taken.add(name)
        status = STATUS_WEIGHTS.pick(rng)
        created = now - SPAN - timedelta(days=rng.uniform(0, 4 * 365))
        low, high = {"vip": (300, 3000), "ordinary": (30, 1500), "stopped": (10, 400)}[status]
        user_count = rng.randint(low, high)
        unit_id = ids.take(CustomerUnit)
        units.append({
            "id": unit_id, "name": name, "name_initials": initials_of(name),
            "address": f"{city}{district}{rng.choice(ROADS)}{rng.randint(1, 999)}号",
            "phone": _landline(rng, area), "user_count": user_count, "maintenance_status": status,
            "is_project": False, "created_at": created,
        })
        stopped_at = None
        if status == "stopped":
            stopped_at = now - timedelta(days=rng.uniform(30, 540))
            changes.append(_status_change(ids, unit_id, None, "ordinary", "单位建档", None, created))
            changes.append(_status_change(ids, unit_id, "ordinary", "stopped", "维护合同到期未续签",
                                          market_manager, stopped_at))
        else:
            changes.append(_status_change(ids, unit_id, None, status, "单位建档", None, created))
        for _ in range(rng.randint(1, 3)):
            pname, dept, phone = _person(rng)
            contacts.append({"id": ids.take(Contact), "customer_id": unit_id, "name": pname, "department": dept,
                             "phone": phone, "email": f"{initials_of(pname)}{rng.randint(1, 999)}@example.cn"})
        # The current contract (or, for a stopped unit, the last one, ended before it stopped) …
        if stopped_at is None:
            start = today - timedelta(days=rng.randint(0, 330))
        else:
            start = (stopped_at + timedelta(hours=8)).date() - timedelta(days=365 + rng.randint(0, 60))
        periods = [(start, False)]
        if rng.random() < 0.5:  # … and the year before it, often the free first year after purchase
            periods.append((start - timedelta(days=365), rng.random() < 0.5))
        for begin, free in periods:
            fee = Decimal(0) if free else Decimal(rng.randint(8, 80) * 1000 * (2 if status == "vip" else 1))
            contracts.append({
                "id": ids.take(Contract), "customer_id": unit_id, "start_date": begin,
                "end_date": begin + timedelta(days=364), "fee": fee, "free_year": free,
                "note": "购买后首年免费维护" if free else ("VIP维护合同（含每月上门巡检）" if status == "vip" else "年度维护合同"),
                "created_at": datetime.combine(begin, datetime.min.time()) - timedelta(days=rng.randint(1, 30)),
            })
        if len(units) >= 5000:
            _flush_units(writer, units, contacts, contracts, changes)
    _flush_units(writer, units, contacts, contracts, changes)
    echo(f"customer units: {count} added")


def _status_change(ids, unit_id, from_status, to_status, reason, by, at) -> dict:
    return {"id": ids.take(MaintenanceStatusChange), "customer_id": unit_id, "from_status": from_status,
            "to_status": to_status, "reason": reason, "changed_by_id": by, "changed_at": at, "review_on": None}


def _flush_units(writer: _Writer, units, contacts, contracts, changes) -> None:
    writer.write(CustomerUnit, units)
    writer.write(Contact, contacts)
    writer.write(Contract, contracts)
    writer.write(MaintenanceStatusChange, changes)
    writer.commit()
    for rows in (units, contacts, contracts, changes):
        rows.clear()


class _Units:
    """Every unit tickets may be registered for, with what ticket generation needs to know about it."""

    def __init__(self, rows, contacts, stopped_at):
        self.all = [u.id for u in rows]
        weights = [max(u.user_count, 10) * (2 if u.maintenance_status == "vip" else 1) for u in rows]
        self._cum = _cumulative(weights)
        self.stopped_at = {u.id: stopped_at.get(u.id, u.created_at) for u in rows
                           if u.maintenance_status == "stopped"}
        self.running = [u.id for u in rows if u.maintenance_status != "stopped"]
        self._running_cum = _cumulative([w for u, w in zip(rows, weights) if u.maintenance_status != "stopped"])
        self.area = {u.id: u.phone.split("-")[0] if u.phone.split("-")[0] in AREA_CODES else "010" for u in rows}
        self.contacts = contacts

    @classmethod
    def load(cls, conn) -> "_Units":
        rows = conn.execute(select(CustomerUnit.id, CustomerUnit.user_count, CustomerUnit.maintenance_status,
                                   CustomerUnit.phone, CustomerUnit.created_at).order_by(CustomerUnit.id)).all()
        contacts: dict[int, list[tuple[str, str, str]]] = {}
        for cid, name, dept, phone in conn.execute(select(Contact.customer_id, Contact.name, Contact.department,
                                                         Contact.phone).order_by(Contact.id)):
            if name and dept and phone:
                contacts.setdefault(cid, []).append((name, dept, phone))
        stopped_at = dict(conn.execute(
            select(MaintenanceStatusChange.customer_id, func.max(MaintenanceStatusChange.changed_at))
            .where(MaintenanceStatusChange.to_status == "stopped").group_by(MaintenanceStatusChange.customer_id)
        ).all())
        return cls(rows, contacts, stopped_at)

    def pick(self, r: random.Random) -> int:
        return self.all[bisect.bisect(self._cum, r.random() * self._cum[-1])]

    def pick_running(self, r: random.Random) -> int | None:
        if not self.running:
            return None
        return self.running[bisect.bisect(self._running_cum, r.random() * self._running_cum[-1])]

    def pick_stopped_before(self, r: random.Random, when: datetime) -> int | None:
        ids = [u for u, at in self.stopped_at.items() if at <= when]
        return r.choice(ids) if ids else None


# ---------------------------------------------------------------------------
# Tickets
# ---------------------------------------------------------------------------

H = 3600.0  # seconds per hour; step delays below are in hours


def _plan(r: random.Random, ticket_type: str, stopped: bool, outcome: str, routed: bool, urgent: bool,
          failed_callbacks: int, wait: bool = False) -> list[tuple]:
    """The whole way from registration to closing, as (action, to-state or None, close reason, delay in hours).

    The order and the states are those portal.tickets.workflow allows; the ticket may stop anywhere on it.
    """
    steps: list[tuple] = []
    start = S_AWAIT if stopped else (S_IMPL if ticket_type == CONSULT else S_REG)
    steps.append(("register", start, None, 0.0))
    if stopped:
        if outcome == DECLINED and (ticket_type != REQ or r.random() < 0.5):
            steps.append(("record_contact", S_CLOSED, DECLINED, r.uniform(2, 120)))
            return steps
        steps.append(("record_contact", S_IMPL if ticket_type == CONSULT else S_REG, None, r.uniform(2, 120)))
    if urgent:
        steps.append(("approve_urgent", None, None, r.uniform(0.2, 6)))
    if ticket_type == CONSULT:
        if outcome == INVALID:
            steps.append(("reject", S_CLOSED, INVALID, r.uniform(1, 48)))
        else:
            steps.append(("answer", S_CLOSED, ANSWERED, r.uniform(0.5, 72)))
        return steps
    if outcome == INVALID:
        steps.append(("reject", S_CLOSED, INVALID, r.uniform(1, 48)))
        return steps
    fast = 0.1 if urgent else 1.0
    if ticket_type == REQ:
        steps.append(("suspend_for_fee", S_FEE, None, r.uniform(1, 72)))
        if outcome == DECLINED:
            steps.append(("record_fee", S_CLOSED, DECLINED, r.uniform(24, 480)))
            return steps
        steps.append(("record_fee", S_READY, None, r.uniform(24, 480)))
    elif routed:
        steps.append(("route_to_impl", S_IMPL, None, r.uniform(1, 48)))
    steps.append(("assign", S_ASSIGNED, None, r.uniform(0.5, 48) * fast))
    steps.append(("notify_deadline", None, None, r.uniform(0.2, 24) * fast))
    if wait:  # paused while the customer must act, resumed with the deadline moved on, told again
        steps.append(("wait_customer", S_WAIT, None, r.uniform(2, 48) * fast))
        steps.append(("resume", S_ASSIGNED, None, r.uniform(24, 120)))
        steps.append(("notify_deadline", None, None, r.uniform(0.2, 24) * fast))
    for _ in range(failed_callbacks):
        steps.append(("resolve", S_RESOLVED, None, r.uniform(2, 240) * fast))
        steps.append(("callback", S_ASSIGNED, None, r.uniform(4, 120)))  # not solved: back to the engineer
        steps.append(("notify_deadline", None, None, r.uniform(0.2, 24) * fast))  # … with a new deadline, told
    steps.append(("resolve", S_RESOLVED, None, r.uniform(2, 240) * fast))
    steps.append(("callback", S_CB, None, r.uniform(4, 120)))
    steps.append(("close", S_CLOSED, SOLVED, r.uniform(2, 168)))
    return steps


class _Batch:
    def __init__(self):
        self.tickets: list[dict] = []
        self.events: list[dict] = []
        self.assignees: list[dict] = []
        self.callbacks: list[dict] = []
        self.links: list[dict] = []

    def write(self, writer: _Writer) -> None:
        writer.write(Ticket, self.tickets)
        writer.write(Event, self.events)
        writer.write(TicketAssignee, self.assignees)
        writer.write(Callback, self.callbacks)
        writer.write(TicketLink, self.links)
        writer.commit()


class _Builder:
    """Turns a plan into the rows the workflow would have written."""

    def __init__(self, r: random.Random, ids: _NextIds, units: _Units, users: _Users, now: datetime):
        self.r, self.ids, self.units, self.users, self.now = r, ids, units, users, now
        self.last_of_unit: dict[int, tuple[int, str]] = {}  # for "duplicate of" references
        self.waiting_since: dict[int, datetime] = {}  # ticket id → when it began to wait for the customer

    # -- the intake: who reported what --------------------------------------------------------------
    def intake(self, ticket_type: str, unit_id: int) -> tuple[str, str, str, str, str]:
        r = self.r
        known = self.units.contacts.get(unit_id)
        if known and r.random() < 0.6:
            name, dept, phone = r.choice(known)
        else:
            name, dept, phone = _person(r)
            if r.random() < 0.1:
                phone = _landline(r, self.units.area[unit_id])
                if r.random() < 0.3:
                    phone += f"-{r.randint(100, 8999)}"
        if ticket_type == MAINT:
            problem = r.choice(MAINTENANCE_PROBLEMS)
            summary = problem if r.random() < 0.5 else f"{r.choice(MODULES)}{problem}"
            detail = f"点击“{r.choice(BUTTONS)}”后提示“{r.choice(ERRORS)}”" if r.random() < 0.7 else \
                f"提示错误代码 E{r.randint(1000, 9999)}"
            description = (f"{r.choice(OPENINGS)}{dept}反映{summary}。{detail}。{r.choice(IMPACTS)}"
                           f"{r.choice(REQUESTS)}")
        elif ticket_type == REQ:
            summary = r.choice(REQUIREMENTS)
            description = f"{dept}提出：{summary}。{r.choice(REQ_REASONS)}请评估工作量和费用。"
        else:
            summary = r.choice(CONSULTATIONS)
            description = f"{dept}的{name}来电咨询：{summary}？已告知由实施部联系答复。"
        return name, dept, phone, summary, description

    # -- one ticket ------------------------------------------------------------------------------
    def build(self, batch: _Batch, ticket_type: str, channel: str, unit_id: int, created: datetime,
              steps: list[tuple], keep: int, comments: int) -> None:
        """One ticket that went through the first `keep` steps, with `comments` internal notes in between."""
        r, now = self.r, self.now
        tid = self.ids.take(Ticket)
        number = f"SH-{(created + timedelta(hours=8)).year}-{tid:06d}"
        name, dept, phone, summary, description = self.intake(ticket_type, unit_id)
        t = dict.fromkeys(_TICKET_COLUMNS)
        t.update(id=tid, number=number, type=ticket_type, channel=channel, urgent=False, customer_id=unit_id,
                 reporter_name=name, reporter_dept=dept, reporter_phone=phone, summary=summary,
                 description=description, handling_department="dev", created_at=created, updated_at=created, reported_at=created,
                 version=1)

        # Times: each kept step after the one before; squeezed if the ticket must have got there by now.
        times, at = [], created
        for step in steps[:keep]:
            at = at + timedelta(seconds=step[3] * H)
            times.append(at)
        latest = now - min(timedelta(minutes=10), (now - created) / 10)
        if times[-1] > latest:
            factor = (latest - created) / (times[-1] - created)
            times = [created + (x - created) * factor for x in times]
        end = times[-1] if steps[keep - 1][1] == S_CLOSED else now
        note_times = sorted(created + (end - created) * r.random() for _ in range(comments))

        state = None
        events = batch.events
        ni = 0
        for (action, to_state, reason, _delay), at in zip(steps[:keep], times):
            while ni < len(note_times) and note_times[ni] < at:
                events.append(self._event(tid, self._anyone(t), "comment", state, state, r.choice(COMMENTS), {},
                                          note_times[ni]))
                ni += 1
            state = self.apply(batch, t, action, to_state, reason, state, at)
        for at in note_times[ni:]:
            events.append(self._event(tid, self._anyone(t), "comment", state, state, r.choice(COMMENTS), {}, at))
        batch.tickets.append(t)
        self.last_of_unit[unit_id] = (tid, number)

    def apply(self, batch: _Batch, t: dict, action: str, to_state: str | None, reason: str | None,
              state: str | None, at: datetime) -> str:
        """What workflow.perform (or start) does for this action; returns the ticket's new state."""
        r, u = self.r, self.users
        text_, data = "", {}
        if action == "register":
            actor = r.choice(u.cs)
            t["created_by_id"] = actor
            if to_state == S_IMPL:
                t["handling_department"] = "impl"
            t["version"] = 2  # INSERT, then the number and the first state (workflow.start)
            batch.events.append(self._event(t["id"], actor, "register", None, to_state, "", {}, at))
            t["state"] = to_state
            return to_state
        if action == "record_contact":
            actor = r.choice(u.market)
            declined = to_state == S_CLOSED
            text_ = r.choice(CONTACT_DECLINED if declined else CONTACT_PROCEED)
            data = {"outcome": "declined" if declined else "proceed"}
            if to_state == S_IMPL:  # handled in 实施部, as at registration (workflow._record_contact)
                t["handling_department"] = "impl"
        elif action == "approve_urgent":
            actor = r.choice(u.market)
            text_ = r.choice(URGENT_REQUESTS)
            t.update(urgent=True, urgent_request=text_, urgent_approved_by_id=actor, urgent_approved_at=at)
        elif action == "suspend_for_fee":
            actor = u.dev_manager[0]
            text_ = t["analysis"] = r.choice(FEE_ANALYSES)
        elif action == "record_fee":
            actor = r.choice(u.market)
            if to_state == S_CLOSED:
                text_, data = r.choice(FEE_DECLINED), {"outcome": "declined"}
            else:
                fee = Decimal(r.randint(2, 60) * 1000)
                t["fee"], t["agreed_requirements"] = fee, f"{t['summary']}，按双方确认的需求说明书实施"
                text_, data = r.choice(FEE_AGREED), {"outcome": "agreed", "fee": str(fee)}
        elif action == "route_to_impl":
            actor = u.dev_manager[0]
            text_ = r.choice(ROUTE_REASONS)
            t["handling_department"] = "impl"
        elif action == "reject":
            actor = u.impl_manager[0] if state == S_IMPL else u.dev_manager[0]
            text_ = r.choice(REJECT_REASONS)
            original = self.last_of_unit.get(t["customer_id"])
            if original and r.random() < 0.5:
                t["duplicate_of_id"] = original[0]
                batch.links.append({"id": self.ids.take(TicketLink), "from_id": t["id"], "to_id": original[0],
                                    "kind": "duplicate_of", "created_at": at})
                data = {"duplicate_of": original[1]}
        elif action == "assign":
            from_impl = state == S_IMPL
            actor = u.impl_manager[0] if from_impl else u.dev_manager[0]
            assignee = r.choice(u.impl_engineers if from_impl else u.engineers)
            hours = r.uniform(4, 24) if t["urgent"] else r.uniform(24, 15 * 24)
            deadline = at + timedelta(hours=hours)
            t.update(assignee_id=assignee, deadline=deadline, deadline_notified_at=None, assigned_at=at)
            if t["first_assigned_at"] is None:
                t["first_assigned_at"] = at
            if r.random() < 0.6:
                text_ = t["analysis"] = r.choice(ANALYSES)
            if from_impl:
                t["handling_department"] = "impl"
            batch.assignees.append({"ticket_id": t["id"], "user_id": assignee})
            data = {"assignee_id": assignee, "assignee": u.names[assignee], "deadline": deadline.isoformat()}
        elif action == "notify_deadline":
            actor = r.choice(u.cs)
            t["deadline_notified_at"] = at
            text_ = r.choice(NOTIFY_TEXTS)
            data = {"whom": t["reporter_name"], "method": "phone", "told_at": at.isoformat(),
                    "deadline": t["deadline"].isoformat()}
        elif action == "wait_customer":
            actor = u.dev_manager[0]  # (the cover's only waiting ticket is 开发部's)
            text_ = r.choice(WAIT_REASONS)
            self.waiting_since[t["id"]] = at
            data = {"deadline": t["deadline"].isoformat()}
        elif action == "resume":
            actor = r.choice(u.cs)
            waited = at - self.waiting_since.pop(t["id"])
            previous = t["deadline"]
            t["deadline"] = (previous + waited).replace(microsecond=0)
            t["deadline_notified_at"] = None
            data = {"previous_deadline": previous.isoformat(), "deadline": t["deadline"].isoformat(),
                    "waited_minutes": int(waited.total_seconds() // 60)}
        elif action == "resolve":
            actor = t["assignee_id"]
            hours = Decimal(r.randint(1, 32)) / 2
            t["process"], t["result"] = r.choice(PROCESSES), r.choice(RESULTS)
            t["hours_spent"] = (t["hours_spent"] or Decimal(0)) + hours
            t["resolved_at"] = at
            text_, data = t["result"], {"hours_spent": str(hours)}
        elif action == "answer":
            actor = r.choice(u.impl_engineers + u.impl_manager)
            text_ = t["result"] = r.choice(ANSWERS)
            t["resolved_at"] = at
            t["assignee_id"] = actor  # who answered it handled it (workflow._answer)
            batch.assignees.append({"ticket_id": t["id"], "user_id": actor})
        elif action == "callback":
            actor = r.choice(u.cs)
            solved = to_state == S_CB
            satisfaction = (SATISFIED if solved else DISSATISFIED).pick(r)
            text_ = r.choice(CALLBACK_GOOD if solved else CALLBACK_BAD)
            batch.callbacks.append({
                "id": self.ids.take(Callback), "kind": "ticket", "ticket_id": t["id"],
                "customer_id": t["customer_id"], "method": "phone" if r.random() < 0.9 else "onsite",
                "contact_person": t["reporter_name"], "outcome": text_, "solved": solved,
                "satisfaction": satisfaction, "made_by_id": actor, "made_at": at,
            })
            data = {"solved": solved, "satisfaction": satisfaction}
            if not solved:  # back to the engineer with a new deadline, to be told again (workflow._callback)
                deadline = at + timedelta(hours=r.uniform(24, 7 * 24))
                t.update(resolved_at=None, deadline=deadline, deadline_notified_at=None)
                data["deadline"] = deadline.isoformat()
        elif action == "close":
            actor = r.choice(u.market)
            text_ = r.choice(CLOSE_NOTES)
        else:  # pragma: no cover - a plan only holds the actions above
            raise ValueError(action)

        new_state = to_state or state
        if to_state is not None:  # workflow._set_state
            t["state"] = to_state
            t["close_reason"] = reason if to_state == S_CLOSED else None
            t["closed_at"] = at if to_state == S_CLOSED else None
        t["updated_at"] = at
        t["version"] += 1
        batch.events.append(self._event(t["id"], actor, action, state, new_state, text_, data, at))
        return new_state

    def _anyone(self, t: dict) -> int:
        """Someone who may write an internal note on the ticket."""
        who = [t["created_by_id"], self.users.dev_manager[0]]
        if t["assignee_id"]:
            who += [t["assignee_id"]] * 3
        return self.r.choice(who)

    def _event(self, ticket_id, actor, action, from_state, to_state, text_, data, at) -> dict:
        return {"id": self.ids.take(Event), "ticket_id": ticket_id, "actor_id": actor, "action": action,
                "from_state": from_state, "to_state": to_state, "text": text_, "data": data, "created_at": at}


def _add_tickets(writer: _Writer, ids: _NextIds, r: random.Random, count: int, units: _Units, users: _Users,
                 now: datetime, echo, batch_size: int) -> None:
    if not count:
        return
    builder = _Builder(r, ids, units, users, now)
    first_cover = count - min(len(COVER), count)
    span_start = now - SPAN
    slot = SPAN / count
    cover_start = now - timedelta(days=6)
    cover_step = timedelta(days=5) / len(COVER)
    batch = _Batch()
    started = time.perf_counter()
    for i in range(count):
        created = span_start + slot * (i + r.random())  # ids follow registration time
        comments = 0
        if i % LONG_EVERY == 0:
            comments = -1  # fill up to LONG_EVENTS below
        elif r.random() < 0.1:
            comments = r.randint(1, 3)

        if i >= first_cover:  # the cover: forced to stop in a given state, registered in the last days
            ticket_type, target, outcome, need_stopped, routed, urgent = COVER[i - first_cover]
            created = max(created, cover_start + cover_step * (i - first_cover))
            channel = CHANNELS[(i - first_cover) % len(CHANNELS)]
            unit_id = units.pick_stopped_before(r, created) if need_stopped else units.pick_running(r)
            if unit_id is None:  # no unit with that status: a plain ticket instead
                need_stopped, unit_id = False, units.pick(r)
                if unit_id in units.stopped_at:
                    need_stopped = units.stopped_at[unit_id] <= created
            steps = _plan(r, ticket_type, need_stopped, outcome, routed, urgent, 0, wait=target == S_WAIT)
            keep = next((k + 1 for k, s in enumerate(steps) if s[1] == target and s[2] in (None, outcome)),
                        len(steps))
            while keep < len(steps) and steps[keep][1] is None:
                keep += 1  # what happens in that state without leaving it: urgent approval, deadline told
        else:
            ticket_type = TYPE_WEIGHTS.pick(r)
            channel = CHANNEL_WEIGHTS.pick(r)
            unit_id = units.pick(r)
            stopped = unit_id in units.stopped_at and units.stopped_at[unit_id] <= created
            outcome = _outcome(r, ticket_type, stopped)
            urgent = ticket_type == MAINT and r.random() < 0.06
            routed = ticket_type == MAINT and r.random() < 0.1
            failed = 1 if r.random() < 0.05 else 0
            steps = _plan(r, ticket_type, stopped, outcome, routed, urgent, failed)
            keep = _kept_by_time(r, steps, created, now)
        if comments < 0:
            comments = max(LONG_EVENTS - keep, 0)
        builder.build(batch, ticket_type, channel, unit_id, created, steps, keep, comments)

        if len(batch.tickets) >= batch_size or i == count - 1:
            batch.write(writer)
            batch = _Batch()
            done = i + 1
            elapsed = time.perf_counter() - started
            echo(f"tickets: {done}/{count} ({done / elapsed:,.0f}/s, {elapsed:.0f} s)")


def _outcome(r: random.Random, ticket_type: str, stopped: bool) -> str:
    if stopped and r.random() < 0.45:
        return DECLINED
    if ticket_type == CONSULT:
        return INVALID if r.random() < 0.06 else ANSWERED
    if ticket_type == REQ:
        x = r.random()
        return INVALID if x < 0.07 else DECLINED if x < 0.35 else SOLVED
    return INVALID if r.random() < 0.07 else SOLVED


def _kept_by_time(r: random.Random, steps: list[tuple], created: datetime, now: datetime) -> int:
    """How many steps have happened by now; about 1 % of tickets got stuck on the way."""
    if r.random() < 0.01 and len(steps) > 1:
        changing = [k + 1 for k, s in enumerate(steps[:-1]) if s[1] is not None]
        return r.choice(changing)
    elapsed_hours = (now - created).total_seconds() / H
    keep, total = 0, 0.0
    for step in steps:
        total += step[3]
        if total > elapsed_hours:
            break
        keep += 1
    return max(keep, 1)
