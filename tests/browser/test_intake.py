"""Issue 2: 客服 registers a problem with an image in the browser and finds it in the list."""
import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from tests.browser.ui import login, register_problem, release_db

pytestmark = pytest.mark.browser


def test_cs_registers_a_problem_with_an_image_sees_its_thumbnail_and_finds_it_listed(page, users, unit_factory,
                                                                                    tmp_path):
    unit_factory(name="北京市第一人民医院")  # the lookup offers both; the user picks the second
    unit = unit_factory(name="北京市第二人民医院")
    png = tmp_path / "报错截图.png"
    img = Image.new("RGB", (320, 200), (240, 244, 249))
    ImageDraw.Draw(img).rectangle((20, 20, 300, 180), outline=(180, 35, 24), width=6)
    img.save(png)
    unit_id = unit.id
    release_db()

    login(page, "cs")
    number = register_problem(page, unit_query="人民医院", unit_id=unit_id, type="maintenance", channel="email",
                              summary="打印报表时提示打印机无法打印", image=png)

    thumb = page.locator("#ticket .gallery img")
    expect(thumb).to_have_count(1)
    thumb.scroll_into_view_if_needed()  # the thumbnail is loading="lazy"
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    expect(page.locator("#ticket .gallery")).to_contain_text("报错截图.png")
    expect(page.locator("#ticket h1")).to_contain_text("刘建国 / 信息科 / 010-65123456-8001 / 打印报表时提示打印机无法打印")
    expect(page.locator("#ticket .ticket-side")).to_contain_text("北京市第二人民医院")

    page.goto("/tickets")
    row = page.locator("table.tickets tbody tr", has=page.locator(f"a:text-is('{number}')"))
    expect(row).to_have_count(1)
    expect(row).to_contain_text("打印报表时提示打印机无法打印")
    expect(row).to_contain_text("北京市第二人民医院")
