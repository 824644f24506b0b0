"""Demo standard replies: a few shared texts of every kind (kept by the managers) and one personal text of
客服, so the picker on a ticket has something to offer at once."""
from __future__ import annotations

from portal.replies import operations as replies

SHARED = [
    ("dev_manager", "deadline", "告知处理期限",
     "{联系人}您好，这里是客服部。贵单位（{客户}）反映的“{摘要}”已登记，问题单号 {单号}，由{工程师}负责处理，"
     "预计在{期限}前解决。如有新情况请随时来电。"),
    ("dev_manager", "deadline", "期限顺延说明",
     "{联系人}您好，关于问题单 {单号}（{摘要}），因需要进一步排查，处理期限调整为{期限}，给您带来不便敬请谅解。"),
    ("market_manager", "callback", "解决后回访",
     "{联系人}您好，我是客服部。您单位（{客户}）于近日反映的“{摘要}”已由{工程师}处理完毕，"
     "想跟您确认一下问题是否已经解决？对我们的服务是否满意（1–5 分）？"),
    ("market_manager", "callback", "回访未接通",
     "{日期}致电{客户}{联系人}回访问题单 {单号}，电话未接通，稍后再次回访。"),
    ("impl_manager", "consultation", "批量导入说明",
     "{联系人}您好，系统支持批量导入：在“人员管理—导入”中下载模板，按模板填写后上传即可；"
     "导入前请先备份，遇到问题可拨打服务热线。"),
    ("impl_manager", "consultation", "浏览器兼容",
     "{联系人}您好，系统支持 Chrome、Edge 及 360 安全浏览器（极速模式）的最新两个版本，不再支持 IE。"),
    ("market_manager", "greeting", "热线接听问候",
     "您好，华信软件售后服务热线，我是客服，请问有什么可以帮您？"),
    ("market_manager", "greeting", "非工作时间问候",
     "您好，现在是非工作时间，您的问题已记录，我们将在下一个工作日上午与您联系。"),
    ("dev_manager", "general", "已转工程师",
     "{联系人}您好，您的问题（{单号}）已转交{工程师}处理，有进展会第一时间告知您。"),
]
PERSONAL = [
    ("cs", "callback", "我的回访开场", "{联系人}老师您好，我是客服王芳，打扰您两分钟，回访一下{摘要}的处理情况。"),
]


def seed(users: dict) -> None:
    """`users`: username → User (the demo's)."""
    for who, kind, title, body in SHARED:
        replies.create(users[who], kind=kind, title=title, body=body, shared=True)
    for who, kind, title, body in PERSONAL:
        replies.create(users[who], kind=kind, title=title, body=body, shared=False)
