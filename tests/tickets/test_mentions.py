"""Issue 14 (5): `@name` in a note tells that person if they may see the ticket, and the author who was told."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.notifications.models import Notification
from portal.tickets import mentions
from portal.tickets import operations as ops
from tests.jobs.test_delivery import smtp_server  # noqa: F401 (a fixture: an SMTP server on loopback)


@pytest.fixture
def named(users):
    """Chinese display names, as staff have them."""
    for key, name in {"engineer": "张伟", "engineer2": "李娜", "dev_manager": "张伟明", "market": "王芳"}.items():
        users[key].display_name = name
    db.session.commit()
    return users


@pytest.fixture
def assigned(named, ticket_factory):
    t = ticket_factory(summary="报表导出乱码")
    ops.take_action(t, "assign", named["dev_manager"], {"assignee_id": named["engineer"].id,
                                                        "deadline": utcnow() + timedelta(days=2)})
    db.session.commit()
    return t


def notes_of(user, kind=None):
    q = select(Notification).where(Notification.user_id == user.id)
    if kind:
        q = q.where(Notification.kind == kind)
    return list(db.session.scalars(q.order_by(Notification.id)))


def comment(client, t, text):
    from portal.tickets.models import Ticket

    db.session.expire_all()
    version = db.session.get(Ticket, t.id).version
    return client.post(f"/tickets/{t.number}/actions/comment",
                       data={"comment-text": text, "comment-version": str(version)}, follow_redirects=True)


# --- reading names ------------------------------------------------------------------------------------------

def test_a_chinese_name_is_read_without_a_space_after_it_and_the_longest_name_wins(named):
    ids, ambiguous = mentions.parse("@张伟请看一下，@张伟明也看看")
    assert ids == [named["engineer"].id, named["dev_manager"].id] and ambiguous == []


def test_a_user_name_is_read_in_any_case_but_does_not_run_on_into_more_letters(named):
    assert mentions.parse("@ENGINEER2 看看")[0] == [named["engineer2"].id]
    assert mentions.parse("@engineer22 看看")[0] == []  # not engineer2, not engineer
    assert mentions.parse("@engineer, 看看")[0] == [named["engineer"].id]
    assert mentions.parse("请看 @engineer.")[0] == [named["engineer"].id]


def test_the_full_width_at_sign_of_a_chinese_input_method_mentions_too(named):
    assert mentions.parse("请＠李娜看看")[0] == [named["engineer2"].id]


def test_an_email_address_and_an_unknown_name_mention_nobody(named):
    assert mentions.parse("请发到 engineer@example.com，或者 @赵六 处理") == ([], [])


def test_a_display_name_two_active_people_share_is_ambiguous_and_mentions_nobody(named):
    named["market"].display_name = "张伟"
    db.session.commit()
    ids, ambiguous = mentions.parse("@张伟 请看")
    assert ids == [] and ambiguous == ["张伟"]
    named["market"].active = False  # an inactive namesake is no one to confuse with
    db.session.commit()
    assert mentions.parse("@张伟 请看") == ([named["engineer"].id], [])


# --- telling them -------------------------------------------------------------------------------------------

def test_a_mentioned_person_who_may_see_the_ticket_is_notified_once_and_the_author_told(auth, named, assigned):
    page = comment(auth.client_for("cs"), assigned, "@张伟 请看一下，客户又来电话了 @张伟")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "已通知：张伟" in body
    notes = notes_of(named["engineer"], "mention")
    assert len(notes) == 1 and notes[0].link == f"/tickets/{assigned.number}" and "请看一下" in notes[0].text
    assert [n.kind for n in notes_of(named["engineer"])] == ["assign", "mention"]  # no second notice of the note


def test_a_mentioned_person_who_may_not_see_the_ticket_gets_nothing_and_the_author_is_told(auth, named, assigned):
    before = len(notes_of(named["engineer2"]))
    body = comment(auth.client_for("cs"), assigned, "@李娜 你以前处理过类似的").get_data(as_text=True)
    assert len(notes_of(named["engineer2"])) == before
    assert "无权查看此工单，未通知：李娜" in body and "已通知" not in body
    # and engineer2 still cannot open it: nothing about the ticket reached them
    assert auth.client_for("engineer2").get(f"/tickets/{assigned.number}").status_code == 404


def test_an_unknown_name_is_ignored_and_the_note_is_saved(auth, named, assigned):
    from portal.tickets.models import Event

    count = db.session.query(Notification).count()
    body = comment(auth.client_for("cs"), assigned, "@赵六 是客户那边的人").get_data(as_text=True)
    assert db.session.query(Notification).count() == count
    assert "已通知" not in body and "未通知" not in body
    assert db.session.scalar(select(Event.text).where(Event.ticket_id == assigned.id, Event.action == "comment")) \
        == "@赵六 是客户那边的人"


def test_the_author_mentioning_themselves_is_not_notified(auth, named, assigned):
    body = comment(auth.client_for("engineer"), assigned, "@张伟 自己记一下").get_data(as_text=True)
    assert notes_of(named["engineer"], "mention") == [] and "已通知" not in body


def test_the_htmx_answer_shows_the_author_who_was_told(auth, named, assigned):
    from portal.tickets.models import Ticket

    version = db.session.get(Ticket, assigned.id).version
    r = auth.client_for("cs").post(f"/tickets/{assigned.number}/actions/comment",
                                   data={"comment-text": "@张伟 @李娜 看看", "comment-version": str(version)},
                                   headers={"HX-Request": "true"})
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and 'id="ticket"' in body
    assert "已通知：张伟" in body and "未通知：李娜" in body


def test_a_follower_who_is_mentioned_gets_one_notification_the_mention(auth, named, assigned):
    auth.client_for("engineer").post(f"/tickets/{assigned.number}/follow")
    comment(auth.client_for("cs"), assigned, "@张伟 请看")
    notes = notes_of(named["engineer"])
    comment_notes = [n for n in notes if n.kind in ("mention", "comment")]
    assert [n.kind for n in comment_notes] == ["mention"]


def test_a_mention_is_a_declared_notice_with_its_chinese_title(app):
    from flask_babel import force_locale

    from portal.core.kernel import kernel

    with app.test_request_context(), force_locale("zh_CN"):
        assert str(kernel.kind("mention").title) == "有人在备注中提到你"


def test_a_mention_in_a_note_taken_by_the_operation_notifies_as_from_the_page(named, assigned):
    """The operation does it (a job or a CLI note the same as the page)."""
    ops.take_action(assigned, "comment", named["cs"], {"text": "@engineer 请回电"})
    db.session.commit()
    assert len(notes_of(named["engineer"], "mention")) == 1


def test_a_mention_is_e_mailed_once_to_a_follower_and_to_a_mentioned_person(named, assigned, smtp_server):
    """Through the outbox and a real worker to an SMTP server on loopback: the follower's notice of the note
    turned into the mention is sent once, with the mention's title."""
    from portal.tickets import followers
    from tests.jobs.helpers import run_burst_worker

    named["engineer"].email, named["dev_manager"].email = "zhangwei@example.com", "zwm@example.com"
    followers.follow(assigned, named["engineer"])
    db.session.commit()
    ops.take_action(assigned, "comment", named["cs"], {"text": "@张伟 @张伟明 请看"})
    db.session.commit()
    run_burst_worker()
    sent = {m["To"].addresses[0].addr_spec: str(m["Subject"]) for m in smtp_server.messages()}
    assert len(smtp_server.envelopes) == 2
    for address in ("zhangwei@example.com", "zwm@example.com"):
        assert "有人在备注中提到你" in sent[address] and assigned.number in sent[address]


def test_an_ambiguous_name_tells_nobody_and_asks_the_author_for_the_user_name(auth, named, assigned):
    named["market"].display_name = "张伟"
    db.session.commit()
    count = db.session.query(Notification).count()
    body = comment(auth.client_for("cs"), assigned, "@张伟 请看").get_data(as_text=True)
    assert db.session.query(Notification).count() == count
    assert "有多人同名，未通知：张伟" in body
    comment(auth.client_for("cs"), assigned, "@engineer 请看")
    assert len(notes_of(named["engineer"], "mention")) == 1


def test_a_note_full_of_at_signs_is_saved_and_reads_only_its_first_twenty(auth, named, assigned):
    r = comment(auth.client_for("cs"), assigned, "@" * 5000 + " @张伟")
    assert r.status_code == 200 and notes_of(named["engineer"], "mention") == []
    assert mentions.parse("@赵六 " * 19 + "@张伟 " + "@李娜")[0] == [named["engineer"].id]
