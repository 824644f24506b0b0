import pytest


@pytest.fixture
def article_factory(app, users):
    """Write an article through the real operations; publish=True has the development manager publish it."""
    from portal.extensions import db
    from portal.kb import operations as ops

    def make(title="打印机无法打印", *, author="engineer", publish=True, **fields):
        data = ops.ArticleInput(title=title, symptom=fields.pop("symptom", "点击打印后没有反应"),
                                cause=fields.pop("cause", "打印服务未启动"),
                                solution=fields.pop("solution", "重启打印服务后重试"), **fields)
        a = ops.create(users[author], data)
        db.session.commit()
        if publish:
            ops.publish(a, users["dev_manager"])
            db.session.commit()
        return a

    return make


@pytest.fixture
def solved_ticket(app, users, ticket_factory, unit_factory):
    """A maintenance problem solved by `engineer`, whose texts name the unit's contacts and their numbers."""
    from datetime import timedelta

    from portal.core.timeutil import utcnow
    from portal.customers.operations import add_contact
    from portal.extensions import db
    from portal.tickets.operations import take_action

    unit = unit_factory(name="滨江区人民医院")
    add_contact(unit, name="王秀英", department="门诊部", phone="13912345678", email="wangxy@binjiang-hosp.cn")
    add_contact(unit, name="赵立新", department="信息科", phone="0571-86451234", email="")
    db.session.commit()
    t = ticket_factory(unit=unit, summary="门诊收费处打印机无法打印发票", reporter_name="刘建国",
                       reporter_phone="13800138000",
                       description="刘建国来电（13800138000）：门诊收费处点击打印发票没有反应。王秀英说昨天还正常。")
    take_action(t, "assign", users["dev_manager"], {"assignee_id": users["engineer"].id,
                                                     "deadline": utcnow() + timedelta(days=1)})
    db.session.commit()
    take_action(t, "resolve", users["engineer"], {
        "process": "远程连接后发现打印服务停止，与信息科赵立新（0571-86451234 转 8021）确认后重启服务。",
        "result": "重启打印后台服务，发票打印恢复。结果已发邮件给 wangxy@binjiang-hosp.cn。", "hours_spent": "1"})
    db.session.commit()
    return t
