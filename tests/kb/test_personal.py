"""Personal data removed from a ticket's text before it becomes an article, on generated examples: mobiles,
landlines with area code and extension, 400/800 numbers, e-mail addresses, the unit's contacts' names — and
the list of what was removed. Ordinary numbers (versions, dates, ticket numbers, ports, IPs) stay."""
from __future__ import annotations

import random

import pytest

from portal.customers.operations import add_contact
from portal.extensions import db
from portal.kb import operations as ops
from portal.kb.personal import EMAIL, NAME, PHONE, stripper_for

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英"
AREA_CODES = ["010", "021", "022", "023", "0571", "0755", "020", "028", "0731", "0991"]
DOMAINS = ["hosp.cn", "163.com", "qq.com", "binjiang-hosp.com.cn", "example.org"]


def _mobile(rng):
    n = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
    style = rng.randrange(4)
    if style == 1:
        n = f"{n[:3]}-{n[3:7]}-{n[7:]}"
    elif style == 2:
        n = f"{n[:3]} {n[3:7]} {n[7:]}"
    elif style == 3:
        n = "+86 " + n
    return n


def _landline(rng):
    code = rng.choice(AREA_CODES)
    local = f"{rng.randrange(2, 10)}{rng.randrange(10**(6 if len(code) == 4 else 7)):0{6 if len(code) == 4 else 7}d}"
    style = rng.randrange(3)
    head = f"({code})" if style == 1 else code + ("-" if style == 0 else " ")
    ext = rng.choice(["", f" 转 {rng.randrange(100, 9999)}", f"-{rng.randrange(10, 999)}", f" ext {rng.randrange(10, 99)}"])
    return f"{head}{local}{ext}"


def _service(rng):
    return f"{rng.choice(['400', '800'])}-{rng.randrange(100, 999)}-{rng.randrange(1000, 9999)}"


def _email(rng):
    user = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randrange(3, 9)))
    return f"{user}{rng.choice(['', '.', '_'])}{rng.randrange(100)}@{rng.choice(DOMAINS)}"


def _name(rng):
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randrange(1, 3)))


KEEP = ["版本V3.2.1", "2026-12-06", "SH-2026-000123", "端口8080", "IP 192.168.10.25", "错误码E1024", "第3页"]


@pytest.mark.parametrize("seed", range(25))
def test_generated_personal_data_is_replaced_and_listed(seed):
    rng = random.Random(seed)
    names = {_name(rng) for _ in range(3)}
    pieces = [("name", n) for n in names] + [("phone", _mobile(rng)), ("phone", _landline(rng)),
                                             ("phone", _service(rng)), ("email", _email(rng))]
    rng.shuffle(pieces)
    text = "，".join(f"{rng.choice(['联系', '据', '请回电', '转告'])}{p}{rng.choice(['，', '。', ' ', '；', '（'])}"
                    f"{rng.choice(KEEP)}" for _, p in pieces)
    s = stripper_for(names, [])
    out = s.strip(text)
    for kind, p in pieces:
        assert p not in out, (p, out)
    for keep in KEEP:
        if keep in text:
            assert keep in out, (keep, out)
    removed = {(r.kind, r.text) for r in s.removed}
    for kind, p in pieces:
        assert (kind, p.strip()) in removed, (kind, p, removed)
    assert out.count(NAME) >= len(names) and PHONE in out and EMAIL in out


def test_a_one_character_name_is_not_removed_everywhere():
    s = stripper_for(["王"], [])
    assert s.strip("王府井门诊") == "王府井门诊" and s.removed == []


def test_prefill_uses_the_units_contacts_and_the_reporter(users, solved_ticket):
    p = ops.prefill_from_ticket(solved_ticket, users["engineer"])
    text = " ".join([p.data.title, p.data.symptom, p.data.cause, p.data.solution])
    for personal in ("刘建国", "王秀英", "赵立新", "13800138000", "0571-86451234", "wangxy@binjiang-hosp.cn"):
        assert personal not in text
    assert "重启打印后台服务" in p.data.solution and "解决过程" in p.data.solution
    kinds = {(r.kind, r.text) for r in p.removed}
    assert {("name", "刘建国"), ("name", "王秀英"), ("name", "赵立新"), ("email", "wangxy@binjiang-hosp.cn")} <= kinds
    assert any(k == "phone" and "0571-86451234" in t for k, t in kinds)


def test_a_contacts_landline_written_without_its_area_code_is_removed_too(users, solved_ticket):
    unit = solved_ticket.customer
    add_contact(unit, name="钱多多", phone="0571-86451299", email="")
    db.session.commit()
    solved_ticket.description = "夜班值班室 86451299 报告问题"
    p = ops.prefill_from_ticket(solved_ticket, users["engineer"])
    assert "86451299" not in p.data.symptom and ("phone", "86451299") in {(r.kind, r.text) for r in p.removed}
    db.session.rollback()
