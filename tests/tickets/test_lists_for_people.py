"""Lists for people (issue 14, item 4): filters by channel / assignee / unit / type / urgent / state / dates,
allowlisted sorts (an unknown one is ignored and said so), personal saved views in the menu, the jump box,
and bulk assign / close / comment through the workflow, each ticket whole or untouched."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from portal.core.timeutil import to_local, utcnow
from portal.extensions import db
from portal.tickets import operations as ops
from portal.tickets.models import Event, SavedView, Ticket

NUMBER = re.compile(r'<a href="[^"]*/tickets/(SH-\d{4}-\d{6})">')


def numbers(html: str) -> list[str]:
    return NUMBER.findall(html)


def deadline_text(days: int = 3) -> str:
    return (to_local(utcnow()) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")


def assign(t, users, who="engineer"):
    ops.take_action(t, "assign", users["dev_manager"],
                    {"assignee_id": users[who].id, "deadline": utcnow() + timedelta(days=2)})
    db.session.commit()


# --- filters and sorts ------------------------------------------------------------------------------------

def test_filter_by_channel(auth, ticket_factory):
    a = ticket_factory(channel="email")
    b = ticket_factory(channel="hotline")
    got = numbers(auth.client_for("cs").get("/tickets?channel=email").get_data(as_text=True))
    assert a.number in got and b.number not in got


def test_filter_by_assignee(auth, users, ticket_factory):
    a, b = ticket_factory(), ticket_factory()
    assign(a, users, "engineer")
    assign(b, users, "engineer2")
    got = numbers(auth.client_for("cs").get(f"/tickets?assignee_id={users['engineer'].id}").get_data(as_text=True))
    assert a.number in got and b.number not in got


def test_filter_by_unit(auth, ticket_factory, unit_factory):
    u1, u2 = unit_factory(), unit_factory()
    a, b = ticket_factory(unit=u1), ticket_factory(unit=u2)
    got = numbers(auth.client_for("cs").get(f"/tickets?customer_id={u1.id}").get_data(as_text=True))
    assert a.number in got and b.number not in got


def test_filter_by_type_state_urgent_and_dates(auth, users, ticket_factory):
    m = ticket_factory()
    r = ticket_factory(type="requirement")
    ops.take_action(m, "approve_urgent", users["market"], {"request": "客户邮件要求加急"})
    db.session.commit()
    c = auth.client_for("cs")
    assert numbers(c.get("/tickets?type=requirement").get_data(as_text=True)) == [r.number]
    assert numbers(c.get("/tickets?urgent=1").get_data(as_text=True)) == [m.number]
    assert set(numbers(c.get(f"/tickets?state={m.state}").get_data(as_text=True))) >= {m.number}
    today = to_local(utcnow()).date()
    assert set(numbers(c.get(f"/tickets?date_from={today}&date_to={today}").get_data(as_text=True))) == {m.number, r.number}
    assert numbers(c.get(f"/tickets?date_from={today + timedelta(days=1)}").get_data(as_text=True)) == []


@pytest.mark.parametrize("sort", ["urgent", "newest", "oldest", "deadline"])
def test_allowlisted_sorts_order_the_list(auth, users, ticket_factory, sort):
    ts = [ticket_factory() for _ in range(3)]
    for t in ts:
        assign(t, users)
    body = auth.client_for("cs").get(f"/tickets?sort={sort}").get_data(as_text=True)
    got = numbers(body)
    by_id = [t.number for t in ts]
    assert got == (by_id if sort in ("oldest", "deadline") else list(reversed(by_id)))
    assert 'class="flash warn"' not in body  # an allowlisted sort is not "not understood"


def test_unknown_sort_is_ignored_and_said_so(auth, ticket_factory):
    t = ticket_factory()
    r = auth.client_for("cs").get("/tickets?sort=summary;drop")
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and t.number in numbers(body)
    ignored = re.search(r'<p class="flash warn" role="status">(.*?)</p>', body, re.S)
    assert ignored and "排序" in ignored.group(1)


def test_column_headers_sort_the_list(auth, ticket_factory):
    ticket_factory()
    body = auth.client_for("cs").get("/tickets").get_data(as_text=True)
    assert "sort=newest" in body and "sort=deadline" in body


def menu(page: str) -> str:
    return page.split("<nav", 1)[1].split("</nav>", 1)[0]


# --- saved views ------------------------------------------------------------------------------------------

def test_saved_view_is_created_normalised_listed_in_the_menu_and_deleted(auth, users, ticket_factory):
    c = auth.client_for("cs")
    r = c.post("/tickets/views", data={"name": "我的邮件单", "query": "type=bogus&channel=email&after=xyz&urgent=1"})
    assert r.status_code == 303
    view = db.session.scalar(select(SavedView).where(SavedView.user_id == users["cs"].id))
    assert view.name == "我的邮件单" and view.query == "channel=email&urgent=1"  # normalised by the list's form
    nav = menu(c.get("/").get_data(as_text=True))
    assert "我的邮件单" in nav and "/tickets?channel=email&amp;urgent=1" in nav
    # someone else neither sees it nor may delete it
    other = auth.client_for("market")
    assert "我的邮件单" not in menu(other.get("/").get_data(as_text=True))
    assert other.post(f"/tickets/views/{view.id}/delete").status_code == 404
    assert db.session.get(SavedView, view.id) is not None
    assert c.post(f"/tickets/views/{view.id}/delete").status_code == 303
    db.session.expire_all()
    assert db.session.get(SavedView, view.id) is None
    assert "我的邮件单" not in menu(c.get("/").get_data(as_text=True))


def test_saved_view_without_a_name_is_refused_and_nothing_saved(auth, users):
    c = auth.client_for("cs")
    r = c.post("/tickets/views", data={"name": "  ", "query": "urgent=1"}, follow_redirects=True)
    assert r.status_code == 200
    assert db.session.scalar(select(SavedView).where(SavedView.user_id == users["cs"].id)) is None


def test_missing_or_malformed_view_id_is_404(auth):
    c = auth.client_for("cs")
    assert c.post("/tickets/views/999999/delete").status_code == 404
    assert c.post("/tickets/views/abc/delete").status_code == 404


# --- jump -------------------------------------------------------------------------------------------------

def test_jump_by_whole_number_and_by_digits(auth, ticket_factory):
    t = ticket_factory()
    c = auth.client_for("cs")
    for n in (t.number, t.number.lower(), str(t.id), f"000{t.id}"):
        r = c.get("/tickets/jump", query_string={"n": n})
        assert r.status_code == 302 and r.headers["Location"].endswith(f"/tickets/{t.number}"), n


def test_jump_to_an_invisible_ticket_is_not_found_like_a_missing_one(auth, users, ticket_factory):
    t = ticket_factory()
    assign(t, users, "engineer2")  # assigned: no longer in 开发部's queue; engineer never had it
    c = auth.client_for("engineer")
    for n in (t.number, str(t.id), "99999999", "abc", ""):
        r = c.get("/tickets/jump", query_string={"n": n}, follow_redirects=True)
        assert r.status_code == 200 and t.number not in r.request.path
        assert "您可查看的" in r.get_data(as_text=True) or "No ticket" in r.get_data(as_text=True)


# --- bulk -------------------------------------------------------------------------------------------------

def bulk(client, action, tickets, **data):
    items = [f"{t.number}:{t.version}" if isinstance(t, Ticket) else t for t in tickets]
    return client.post("/tickets/bulk", data={"action": action, "t": items, **data})


def test_bulk_assign_mixed_outcomes_done_stale_and_not_allowed(auth, users, ticket_factory):
    ts = [ticket_factory() for _ in range(4)]
    consultation = ticket_factory(type="consultation")  # goes to 实施部's queue: dev_manager may not assign it
    items = [f"{t.number}:{t.version}" for t in ts] + [f"{consultation.number}:{consultation.version}"]
    ops.take_action(ts[1], "approve_urgent", users["market"], {"request": "客户邮件要求加急"})  # changed since shown
    db.session.commit()
    r = bulk(auth.client_for("dev_manager"), "assign", items, assignee_id=users["engineer"].id,
             deadline=deadline_text())
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    db.session.expire_all()
    states = {t.number: db.session.get(Ticket, t.id) for t in [*ts, consultation]}
    assert [states[t.number].state for t in ts] == ["assigned", "registered", "assigned", "assigned"]
    assert states[consultation.number].state != "assigned"
    done = body.split('class="bulk-done"')[1].split("</ul>")[0]
    refused = body.split('class="bulk-refused"')[1].split("</ul>")[0]
    assert all(t.number in done for t in (ts[0], ts[2], ts[3]))
    assert ts[1].number in refused and "他人已作修改" in refused.split(ts[1].number)[-1].split("</li>")[0]
    assert consultation.number in refused and "不能执行" in refused.split(consultation.number)[-1].split("</li>")[0]
    assert f'data-status="409" data-number="{ts[1].number}"' in refused
    assert "3" in body.split('class="bulk-summary"')[1].split("</p>")[0]


def test_bulk_refused_ticket_is_untouched_no_event_no_assignment(auth, users, ticket_factory):
    t = ticket_factory()
    before = db.session.scalar(select(db.func.count()).select_from(Event).where(Event.ticket_id == t.id))
    r = bulk(auth.client_for("dev_manager"), "assign", [f"{t.number}:{t.version + 5}"],
             assignee_id=users["engineer"].id, deadline=deadline_text())
    assert r.status_code == 200
    db.session.expire_all()
    t2 = db.session.get(Ticket, t.id)
    assert t2.state == "registered" and t2.assignee_id is None
    assert db.session.scalar(select(db.func.count()).select_from(Event).where(Event.ticket_id == t.id)) == before


def test_bulk_assign_with_an_invalid_assignee_refuses_each_ticket_whole(auth, users, ticket_factory):
    ts = [ticket_factory() for _ in range(2)]
    r = bulk(auth.client_for("dev_manager"), "assign", ts, assignee_id=users["cs"].id, deadline=deadline_text())
    assert r.status_code == 200
    db.session.expire_all()
    assert all(db.session.get(Ticket, t.id).assignee_id is None for t in ts)
    assert 'class="bulk-done"' not in r.get_data(as_text=True)


def test_bulk_action_the_role_may_not_take_is_403_and_nothing_written(auth, users, ticket_factory):
    t = ticket_factory()
    r = bulk(auth.client_for("cs"), "assign", [t], assignee_id=users["engineer"].id, deadline=deadline_text())
    assert r.status_code == 403
    db.session.expire_all()
    assert db.session.get(Ticket, t.id).state == "registered"


def test_bulk_comment_and_invisible_tickets_are_not_found(auth, users, ticket_factory):
    mine, other = ticket_factory(), ticket_factory()
    assign(mine, users, "engineer")
    assign(other, users, "engineer2")
    r = bulk(auth.client_for("engineer"), "comment", [mine, other], text="批量备注")
    body = r.get_data(as_text=True)
    assert r.status_code == 200
    assert mine.number in body.split('class="bulk-done"')[1].split("</ul>")[0]
    refused = body.split('class="bulk-refused"')[1].split("</ul>")[0]
    assert other.number in refused and f'/tickets/{other.number}"' not in refused
    assert db.session.scalar(select(db.func.count()).select_from(Event).where(
        Event.ticket_id == other.id, Event.action == "comment")) == 0


def test_bulk_close_closes_only_tickets_ready_to_close(auth, users, ticket_factory):
    t, open_one = ticket_factory(), ticket_factory()
    assign(t, users)
    ops.take_action(t, "resolve", users["engineer"], {"process": "处理", "result": "好了", "hours_spent": 1})
    ops.take_action(t, "callback", users["cs"], {"solved": True, "method": "phone", "text": "满意", "satisfaction": 5})
    db.session.commit()
    r = bulk(auth.client_for("market"), "close", [t, open_one])
    assert r.status_code == 200
    db.session.expire_all()
    assert db.session.get(Ticket, t.id).state == "closed"
    assert db.session.get(Ticket, open_one.id).state == "registered"


@pytest.mark.parametrize("data", [
    {"action": "assign", "t": ["SH-2026-000001:1"]},  # no assignee nor deadline
    {"action": "comment", "t": ["SH-2026-000001:1"], "text": ""},
    {"action": "explode", "t": ["SH-2026-000001:1"]},
    {"action": "comment", "text": "x"},  # nothing ticked
    {"action": "comment", "text": "x", "t": [f"SH-2026-{i:06d}:1" for i in range(1, 102)]},  # too many
])
def test_bulk_bad_input_is_422_and_nothing_written(auth, ticket_factory, data):
    t = ticket_factory()
    before = db.session.scalar(select(db.func.count()).select_from(Event))
    r = auth.client_for("dev_manager").post("/tickets/bulk", data=data)
    assert r.status_code == 422
    assert db.session.scalar(select(db.func.count()).select_from(Event)) == before


def test_bulk_statement_count_is_bounded_per_ticket(auth, users, ticket_factory):
    from tests.test_query_counts import counting

    def run(n):
        ts = [ticket_factory() for _ in range(n)]
        c = auth.client_for("engineer")
        for t in ts:
            assign(t, users)
        with counting() as seen:
            r = bulk(c, "comment", [db.session.get(Ticket, t.id) for t in ts], text="批量")
        assert r.status_code == 200
        return len(seen)

    few, many = run(2), run(6)
    per_ticket = (many - few) / 4
    assert per_ticket <= 12, (few, many)


def test_list_shows_bulk_controls_only_for_possible_actions(auth, users, ticket_factory):
    t = ticket_factory()
    assign(t, users)
    dm = auth.client_for("dev_manager").get("/tickets").get_data(as_text=True)
    assert 'id="bulk-form"' in dm and 'value="assign"' in dm and f'value="{t.number}:' in dm
    cs = auth.client_for("cs").get("/tickets").get_data(as_text=True)
    assert 'id="bulk-form"' in cs and '<option value="assign">' not in cs  # cs may only comment


def test_a_long_hostile_view_query_is_saved_within_its_column_or_refused_never_a_500(auth, users):
    c = auth.client_for("cs")
    query = "&".join(f"date_from=2026-1-{1 + i % 9}&q={'长' * 90}" for i in range(12))[:1000]
    query += "&" + "&".join(["state=closed", "state=registered"] * 20)
    r = c.post("/tickets/views", data={"name": "很长", "query": query[:1000]})
    assert r.status_code == 303
    view = db.session.scalar(select(SavedView).where(SavedView.user_id == users["cs"].id))
    assert view is None or len(view.query) <= 1000


def test_saving_a_view_under_its_name_again_updates_it_and_a_person_has_at_most_twenty(auth, users):
    c = auth.client_for("cs")
    c.post("/tickets/views", data={"name": "加急", "query": "urgent=1"})
    c.post("/tickets/views", data={"name": "加急", "query": "urgent=1&channel=email"})
    views = list(db.session.scalars(select(SavedView).where(SavedView.user_id == users["cs"].id)))
    assert [(v.name, v.query) for v in views] == [("加急", "channel=email&urgent=1")]
    for i in range(25):
        c.post("/tickets/views", data={"name": f"视图{i}", "query": "urgent=1"})
    assert db.session.scalar(select(db.func.count()).select_from(SavedView).where(
        SavedView.user_id == users["cs"].id)) == 20
