"""The report in a real browser: Debian's headless Chromium loads it from a file URL with the
network off, and the test checks what a reader sees: every chart drawn, the tables' rows,
nothing wider than the page, no request but the page itself. The screenshot is kept in the
test's tmp directory (pytest prints where).

Run: `.venv/bin/pytest -m browser -s` (needs /usr/bin/chromium: `apt-get install chromium`).
"""

from __future__ import annotations

import os
import re

import pytest

from tests.support import history_world
from tests.support.chromium import CHROMIUM, Chromium
from tests.support.cli import CLI, write_config

_REQUIRED = os.environ.get("OPENWATCH_REQUIRE_BROWSER") == "1"  # .ci/run sets it: CI never skips this
if _REQUIRED and not CHROMIUM.exists():
    raise RuntimeError(f"{CHROMIUM} is missing but OPENWATCH_REQUIRE_BROWSER=1; apt-get install chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not installed (apt-get install chromium; "
                                                     ".ci/run installs it)"),
]

PROBE = r"""(() => {
  const main = document.querySelector('main').getBoundingClientRect();
  const charts = [...document.querySelectorAll('svg.chart')].map(svg => {
    const box = svg.getBoundingClientRect();
    const texts = [...svg.querySelectorAll('text')];
    return {
      name: svg.dataset.chart, width: box.width, height: box.height,
      drawn: [...svg.querySelectorAll('path, rect')].filter(e => {
        const b = e.getBoundingClientRect(); return b.width > 0 && b.height > 0; }).length,
      texts: texts.map(t => t.textContent.trim()).filter(Boolean),
      outside: texts.filter(t => { const b = t.getBoundingClientRect();
        return b.left < box.left - 1 || b.right > box.right + 1 || b.top < box.top - 1 || b.bottom > box.bottom + 1;
      }).map(t => t.textContent),
    };
  });
  const tables = {};
  for (const table of document.querySelectorAll('table[data-table]')) {
    tables[table.dataset.table] = [...table.tBodies[0].rows].map(r => [...r.cells].map(c => c.innerText.trim()));
  }
  const wider = [...document.querySelectorAll('main *')].filter(e => {
    const b = e.getBoundingClientRect(); return b.width > 0 && (b.right > main.right + 1 || b.left < main.left - 1);
  }).map(e => e.tagName + '.' + e.className);
  const scrolling = [...document.querySelectorAll('.table-wrap')].filter(w => w.scrollWidth > w.clientWidth + 1)
    .map(w => w.querySelector('table').dataset.table);
  return {charts, tables, wider, scrolling, pageWidth: document.documentElement.scrollWidth,
          viewport: window.innerWidth, notes: [...document.querySelectorAll('[data-empty]')].map(e => e.dataset.empty),
          active: document.querySelectorAll('script, img, iframe, object, embed, link').length};
})()"""


def open_report(tmp_path, html_path, width=1280):
    with Chromium(tmp_path / "profile", width=width) as browser:
        url = html_path.resolve().as_uri()
        browser.open_offline(url)
        seen = browser.evaluate(PROBE)
        shot = browser.screenshot(tmp_path / f"report-{width}.png")
        return seen, browser.requested(), shot, url


@pytest.fixture
def report_html(tmp_path):
    world = history_world.build(tmp_path / "openwatch.db")
    config = write_config(tmp_path / "openwatch.toml", hf="http://127.0.0.1:9", watches=[
        {"name": "labs", "source": "huggingface", "orgs": ["meta-llama"], "every": "1h"}])
    CLI(config)("report", "--since", "90d", "-o", "report.html")
    return tmp_path / "report.html", world


def test_report_renders_offline_in_chromium(tmp_path, report_html):
    html, world = report_html
    seen, requested, shot, url = open_report(tmp_path, html)
    print(f"\nscreenshot: {shot}")
    assert requested == [url]  # the page itself, nothing else: it needs no network
    assert seen["active"] == 0

    charts = {c["name"]: c for c in seen["charts"]}
    assert sorted(charts) == ["directions", "downloads", "new-by-country", "new-by-licence", "openness"]
    for chart in charts.values():
        assert chart["width"] > 600 and chart["height"] > 120, chart["name"]
        assert chart["drawn"] >= 5, chart["name"]  # background, axes, bars or areas
        assert chart["outside"] == [], chart["name"]  # no label cut off at the chart's edge
    assert {"new models", "month of release (UTC)"} <= set(charts["new-by-country"]["texts"])
    assert {"US", "CN", "EU", "other"} <= set(charts["new-by-country"]["texts"])
    assert {"models tracked", "country of origin", "fully-open", "unknown"} <= set(charts["openness"]["texts"])
    assert {"6", "3"} <= set(charts["openness"]["texts"])  # bar totals are written, not hovered
    shares = [t for t in charts["downloads"]["texts"] if re.fullmatch(r"(US|CN|EU|other) \d+%", t)]
    assert {s.split()[0] for s in shares} >= {"US", "CN", "EU"}
    assert {"more restrictive", "more open", "lateral", "unclear"} <= set(charts["directions"]["texts"])

    tables = seen["tables"]
    releases = {row[1]: row for row in tables["releases"]}
    assert len(releases) == len(history_world.MODELS)
    assert releases["Qwen/Qwen2.5-72B-Instruct"][3:6] == ["other:qwen open-weight-restricted", "restricted", "72.7B"]
    assert releases["allenai/OLMo-2-0325-32B"][4] == "fully-open"
    assert releases["allenai/OLMo-2-0325-32B"][6].split("\n") == ["paper 2501.00656", "code allenai/OLMo"]
    assert releases["unknown-lab/mystery-7b"][3] == "other:<img src=x onerror=alert(1)> unknown"
    assert releases["google/gemma-3-27b-it"][4] == "unknown"  # openness NULL today
    assert sorted(row[5] for row in tables["licence-changes"]) == ["lateral", "more open", "more restrictive",
                                                                  "unclear"]
    health = {row[0]: row for row in tables["health"]}
    assert health["papers"][2] == "failed · failing" and health["papers"][5] == "3"
    assert health["papers"][6].startswith("GET https://huggingface.co/api/models?author=very-long-org-name")
    assert len(tables["events"]) == min(len(world["events"]), 30)  # all within 90 days; the newest 30
    assert tables["events"][0][1] == "source.failing"  # newest first

    assert seen["pageWidth"] <= seen["viewport"]
    assert seen["wider"] == [] and seen["scrolling"] == []  # the long URL wraps; no table needs scrolling
    assert shot.stat().st_size > 50_000


def test_report_fits_a_narrow_window(tmp_path, report_html):
    """On a small screen the page still fits: charts shrink, wide tables scroll inside their box."""
    seen, requested, _, url = open_report(tmp_path, report_html[0], width=700)
    assert requested == [url]
    assert seen["pageWidth"] <= seen["viewport"]
    assert all(c["width"] <= 700 for c in seen["charts"])
