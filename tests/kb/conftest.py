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
