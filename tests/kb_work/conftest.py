"""Articles written and reviewed through portal/kb's own operations (so the search index is what it would be)."""
from __future__ import annotations

import pytest

from portal.extensions import db
from portal.kb import operations as kb


@pytest.fixture
def article_factory(users):
    """make(title, state="published", **fields) → a committed article (drafts by the engineer, published by the
    development manager; archived ones published first)."""

    def make(title: str, *, state: str = "published", symptom: str = "点击打印没有反应", cause: str = "驱动版本过旧",
             solution: str = "重新安装打印驱动后重启客户端", module: str = "打印", source_ticket=None, **fields):
        data = kb.ArticleInput(title=title, symptom=symptom, cause=cause, solution=solution, module=module, **fields)
        article = kb.create(users["engineer"], data, source_ticket=source_ticket)
        if state in ("published", "archived"):
            kb.publish(article, users["dev_manager"])
        if state == "archived":
            kb.archive(article, users["dev_manager"])
        db.session.commit()
        return article

    return make
