"""A malformed catalog file: the page names the file and the field, and shows everything else."""

from __future__ import annotations

import json
import shutil

from app.optouts.catalog import load_catalog
from app.optouts.tracker import OptOutTracker
from app.resources import resource_path


def test_a_broken_file_is_named_on_the_page_and_the_rest_still_works(qtbot, ctx, make_window, clock, tmp_path):
    folder = tmp_path / "optouts"
    shutil.copytree(resource_path("optouts"), folder)
    data = json.loads((folder / "amazon.json").read_text(encoding="utf-8"))
    data["settings"][8]["recommended"] = "Sometimes"  # amazon.sidewalk
    (folder / "amazon.json").write_text(json.dumps(data), encoding="utf-8")
    (folder / "sonos.json").write_text("{ not json", encoding="utf-8")
    ctx.optouts = OptOutTracker(ctx.database, load_catalog(folder), clock=clock)
    account = ctx.optouts.add_account("amazon", "Amazon")

    window = make_window(ctx)
    window.show()
    window.show_page("optouts")
    page = window.optouts_page
    page.select_account(account.account_id)
    assert page.problems_banner.isVisible()
    text = page.problems_label.text()
    assert "amazon.json: settings[8] (amazon.sidewalk).recommended: 'Sometimes' is not one of the options" in text
    assert "sonos.json: line 1, column 3: is not valid JSON" in text
    assert "amazon.sidewalk" not in page.account_view.cards
    assert "amazon.voice-recordings" in page.account_view.cards  # the rest of the file
    page.add_button.click()
    vendors = [page.account_dialog.vendor_combo.itemData(i) for i in range(page.account_dialog.vendor_combo.count())]
    assert sorted(vendors) == ["amazon", "apple", "google", "meta", "microsoft"]
    page.account_dialog.reject()
    report = page.build_report()
    assert any("sonos.json" in problem for problem in report.catalog_problems)
