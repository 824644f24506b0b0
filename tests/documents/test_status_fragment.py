"""The generating state is said once, inside the self-polling status component, so that the ready state
replaces it: no "文件正在生成" left elsewhere on the page once the file is there. The component stops polling
with 286 and swaps in the download link."""
from __future__ import annotations

import re

from tests.documents.helpers import all_documents, run_burst_worker

STATUS_DIV = re.compile(r'<div class="doc-status[^"]*" id="doc-status-\d+".*?</div>', re.S)


def _request_letter(client, vip_unit):
    r = client.post(f"/documents/contracts/{vip_unit.contracts[0].id}/expiry-notice",
                    data={"contact_id": vip_unit.contacts[0].id, "fax": "0571-87654321", "boxes": ["urgent"]},
                    follow_redirects=True)
    assert r.status_code == 200
    return r.get_data(as_text=True)


def test_being_generated_is_said_only_inside_the_status_component(auth, users, letterhead, vip_unit):
    html = _request_letter(auth.client_for("market"), vip_unit)
    component = STATUS_DIV.search(html)
    assert component and "正在生成" in component.group(0) and "hx-get" in component.group(0)
    rest = STATUS_DIV.sub("", html)
    assert "正在生成" not in rest, "a message outside the component would stay after the file is ready"


def test_the_status_of_a_ready_document_stops_polling_with_286_and_offers_the_download(auth, users, letterhead,
                                                                                     vip_unit):
    client = auth.client_for("market")
    _request_letter(client, vip_unit)
    doc = all_documents()[0]
    run_burst_worker()
    r = client.get(f"/documents/{doc.public_id}/status", headers={"HX-Request": "true"})
    body = r.get_data(as_text=True)
    assert r.status_code == 286
    assert f'href="/documents/{doc.public_id}/download"' in body and "s-ready" in body
    assert "正在生成" not in body and "hx-get" not in body and "hx-trigger" not in body
