"""项目组客户转为售后客户: 客服 starts the handover of a project unit; every contact gets a
售后服务通知函 (archived) and a phone call; the project-implementation callback is recorded; the
unit shows whether the handover is complete."""
from __future__ import annotations

import pytest

from portal.customers import operations as cops
from portal.customers.models import CustomerUnit
from portal.extensions import db
from portal.handover.models import Handover, HandoverCall
from portal.tickets.models import Callback
from tests.documents.helpers import all_documents, document, flat, pdf_bytes, pdf_text, run_burst_worker


@pytest.fixture
def project_unit(unit_factory):
    unit = unit_factory(status="ordinary", name="宁波市妇幼保健院")
    unit.is_project = True
    for name, dept, phone in (("陈静", "信息科", "13800000001"), ("刘洋", "门诊部", "13800000002"),
                              ("周敏", "药剂科", "13800000003")):
        cops.add_contact(unit, name=name, department=dept, phone=phone)
    db.session.commit()
    return unit


def unit_of(unit_id):
    db.session.expire_all()
    return db.session.get(CustomerUnit, unit_id)


def test_handover_sends_an_archived_letter_to_every_contact_and_completes_after_calls_and_callback(
        auth, letterhead, project_unit):
    cs = auth.client_for("cs")
    assert "宁波市妇幼保健院" in cs.get("/handover").get_data(as_text=True)  # waiting to be handed over
    assert cs.post(f"/handover/units/{project_unit.id}/start").status_code == 302
    assert unit_of(project_unit.id).is_project is False  # now an after-sales customer

    letters = all_documents()
    assert sorted(d.contact.name for d in letters) == ["刘洋", "周敏", "陈静"]
    assert {(d.kind, d.status, d.author.username) for d in letters} == {("service_notice", "pending", "cs")}
    run_burst_worker()
    for d in all_documents():
        assert d.status == "ready"
        text = flat(pdf_text(pdf_bytes(d)))
        assert f"尊敬的{d.contact.name}（宁波市妇幼保健院{d.contact.department}）" in text
        assert "已完成实施" in text and "转入售后服务" in text

    page = cs.get(f"/handover/units/{project_unit.id}").get_data(as_text=True)
    assert "移交进行中" in page
    contacts = unit_of(project_unit.id).contacts
    # one call that did not reach the contact does not count
    for contact, reached in ((contacts[0], "y"), (contacts[1], "y"), (contacts[2], "")):
        r = cs.post(f"/handover/units/{project_unit.id}/contacts/{contact.id}/calls",
                    data={f"c{contact.id}-reached": reached, f"c{contact.id}-outcome": "已电话沟通售后服务细则"})
        assert r.status_code == 302
    handover = db.session.scalar(db.select(Handover))
    assert handover.completed_at is None
    r = cs.post(f"/handover/units/{project_unit.id}/contacts/{contacts[2].id}/calls",
                data={f"c{contacts[2].id}-reached": "y", f"c{contacts[2].id}-outcome": "再次致电，已沟通"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Handover, handover.id).completed_at is None  # the callback is still missing

    r = cs.post(f"/handover/units/{project_unit.id}/callback", data={
        "method": "phone", "contact_person": "陈静", "outcome": "项目实施情况良好，客户认可", "satisfaction": "5"})
    assert r.status_code == 302
    [cb] = db.session.scalars(db.select(Callback)).all()
    assert (cb.kind, cb.customer_id, cb.satisfaction, cb.made_by.username) == ("implementation", project_unit.id, 5, "cs")
    db.session.expire_all()
    assert db.session.get(Handover, handover.id).completed_at is not None
    assert db.session.scalar(db.select(db.func.count()).select_from(HandoverCall)) == 4

    unit_page = cs.get(f"/customers/{project_unit.id}").get_data(as_text=True)
    assert "移交完成" in unit_page


def test_completion_waits_for_every_letter_to_be_in_the_archive(auth, letterhead, project_unit):
    from portal.handover import operations as ops

    cs = auth.client_for("cs")
    cs.post(f"/handover/units/{project_unit.id}/start")
    unit = unit_of(project_unit.id)
    for contact in unit.contacts:
        cs.post(f"/handover/units/{unit.id}/contacts/{contact.id}/calls",
                data={f"c{contact.id}-reached": "y", f"c{contact.id}-outcome": "已沟通"})
    cs.post(f"/handover/units/{unit.id}/callback", data={"method": "onsite", "contact_person": "陈静", "outcome": "好"})
    handover = db.session.scalar(db.select(Handover))
    assert not ops.progress(handover).complete and handover.completed_at is None  # letters still pending
    run_burst_worker()  # the last letter's job completes the handover
    db.session.expire_all()
    handover = db.session.get(Handover, handover.id)
    assert ops.progress(handover).complete and handover.completed_at is not None


def test_only_customer_service_hands_over_and_only_project_units_with_contacts(auth, project_unit, unit_factory):
    assert auth.client_for("market").post(f"/handover/units/{project_unit.id}/start").status_code == 403
    assert auth.client_for("engineer").get(f"/handover/units/{project_unit.id}").status_code == 403
    assert db.session.scalar(db.select(db.func.count()).select_from(Handover)) == 0

    after_sales = unit_factory(status="ordinary", name="已是售后的单位")
    cops.add_contact(after_sales, name="赵六", phone="13800000009")
    db.session.commit()
    assert auth.client_for("cs").post(f"/handover/units/{after_sales.id}/start").status_code == 409

    empty = unit_factory(status="ordinary", name="没有联系人的项目")
    empty.is_project = True
    db.session.commit()
    assert auth.client_for("cs").post(f"/handover/units/{empty.id}/start").status_code == 422
    assert unit_of(empty.id).is_project is True and all_documents() == []

    cs = auth.client_for("cs")
    assert cs.post(f"/handover/units/{project_unit.id}/start").status_code == 302
    assert cs.post(f"/handover/units/{project_unit.id}/start").status_code == 409  # once
    assert len(all_documents()) == 3


def test_call_without_outcome_is_refused_and_records_nothing(auth, letterhead, project_unit):
    cs = auth.client_for("cs")
    cs.post(f"/handover/units/{project_unit.id}/start")
    contact = unit_of(project_unit.id).contacts[0]
    r = cs.post(f"/handover/units/{project_unit.id}/contacts/{contact.id}/calls",
                data={f"c{contact.id}-reached": "y", f"c{contact.id}-outcome": ""})
    assert r.status_code == 422
    assert db.session.scalar(db.select(db.func.count()).select_from(HandoverCall)) == 0
    other = unit_of(project_unit.id)
    stranger = cops.add_contact(cops.create_unit("别的单位"), name="外人", phone="13800000010")
    db.session.commit()
    r = cs.post(f"/handover/units/{other.id}/contacts/{stranger.id}/calls",
                data={f"c{stranger.id}-reached": "y", f"c{stranger.id}-outcome": "x"})
    assert r.status_code == 404


def test_letter_for_a_contact_added_later_and_a_new_revision(auth, letterhead, project_unit):
    cs = auth.client_for("cs")
    cs.post(f"/handover/units/{project_unit.id}/start")
    late = cops.add_contact(unit_of(project_unit.id), name="孙丽", department="财务科", phone="13800000004")
    db.session.commit()
    assert cs.post(f"/handover/units/{project_unit.id}/contacts/{late.id}/letter").status_code == 302
    assert cs.post(f"/handover/units/{project_unit.id}/contacts/{late.id}/letter").status_code == 302
    run_burst_worker()
    revisions = sorted(d.revision for d in all_documents() if d.contact_id == late.id)
    assert revisions == [1, 2]
    assert all(document(d.id).handover_id is not None for d in all_documents())


def test_new_unit_can_be_marked_as_a_project_unit(auth):
    r = auth.client_for("cs").post("/customers/new", data={"name": "新项目医院", "user_count": "10",
                                                           "status": "ordinary", "is_project": "y"})
    assert r.status_code == 302
    unit = db.session.scalar(db.select(CustomerUnit).where(CustomerUnit.name == "新项目医院"))
    assert unit.is_project is True
    page = auth.client_for("cs").get(f"/customers/{unit.id}").get_data(as_text=True)
    assert f"/handover/units/{unit.id}" in page
