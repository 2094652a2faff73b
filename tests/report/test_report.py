"""cxml.report.build on the committed sample: structure, inline images, no network, computed takeaways,
point-in-time, graceful degradation, evaluation tables, the reasons hook and safe writing."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxml import OutputExistsError, ParameterError, Scorer
from cxml.churn import evaluate_churn, evaluate_cltv
from cxml.report import SECTION_TITLES, build
from cxml.report._render import write_atomic
from cxml.schema import Columns, events_before, purchase_mask
from cxml.segment import rfm_segments, segment_summary
from tests.test_docstrings import _parameters_section

from ._page import png_size, read_page
from .conftest import AS_OF

SECTION_IDS = ("customers", "segments", "feedback", "churn", "equity", "at-risk", "recommend", "evaluation")
FOOTER_TIME = re.compile(r"on \d{4}-\d\d-\d\d \d\d:\d\d UTC")


def _headings(html: str) -> list[tuple[str, str]]:
    return [h for h in read_page(html).headings if h[0] != "contents"]


def test_every_section_has_a_numbered_heading_a_takeaway_and_a_contents_entry(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    page = read_page(html)
    headings = _headings(html)
    assert [t for _, t in headings] == [f"{n}. {t}" for n, t in enumerate(SECTION_TITLES, 1)]
    assert tuple(i for i, _ in headings) == SECTION_IDS
    assert page.hrefs == [f"#{i}" for i in SECTION_IDS]
    takeaways = re.findall(r'<p class="takeaway">([^<]+)</p>', html)
    assert len(takeaways) == len(SECTION_IDS) and all(len(t.split()) >= 8 for t in takeaways)


def test_every_image_is_an_inline_png_with_a_size(report: Path) -> None:
    page = read_page(report.read_text(encoding="utf-8"))
    # customers, segments, feedback, churn risk, out-of-time lift+calibration, equity
    assert len(page.images) == 6
    for img in page.images:
        width, height = png_size(img["src"])
        assert 850 <= width <= 950 and height >= 200, (width, height)
        assert img["alt"]


def test_the_page_references_nothing_on_the_network(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    page = read_page(html)
    assert not re.search(r"https?://", html, flags=re.I)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?//""", html, flags=re.I)
    assert "@import" not in html and "url(" not in html
    assert not page.tags & {"script", "link", "iframe", "object", "embed", "video", "audio", "source"}
    assert all(img["src"].startswith("data:image/png;base64,") for img in page.images)
    assert all(h.startswith("#") for h in page.hrefs)


def test_takeaways_and_tables_are_computed_from_the_data(
    report: Path, sample_events: pd.DataFrame, scorer: Scorer
) -> None:
    page = read_page(report.read_text(encoding="utf-8"))
    ev, ts = sample_events, pd.Timestamp(AS_OF)
    sales = ev.loc[ev[Columns.EVENT_TYPE] == "purchase"]
    q, year = pd.Timedelta(days=91), pd.Timedelta(days=364)

    def revenue(start: pd.Timestamp) -> float:
        inside = (sales[Columns.TIMESTAMP] >= start) & (sales[Columns.TIMESTAMP] < start + q)
        return float(sales.loc[inside, Columns.AMOUNT].sum())

    now, before = revenue(ts - q), revenue(ts - year - q)
    assert f"({now:,.0f})" in page.section_text["customers"]
    assert f"{abs(now / before - 1) * 100:.0f} % {'above' if now > before else 'below'}" in page.section_text[
        "customers"
    ]

    history = events_before(ev, ts)
    firsts = history.loc[purchase_mask(history)].groupby(Columns.CUSTOMER)[Columns.TIMESTAMP].min()
    assert f"{int((firsts >= ts - q).sum()):,} of them for the first time" in page.section_text["customers"]

    summary = segment_summary(rfm_segments(ev, AS_OF))
    top = summary["revenue_share"].idxmax()
    assert f"'{top}' customers are {100 * summary.at[top, 'customer_share']:.0f} %" in page.section_text["segments"]
    seg_rows = page.tables["segments"][0][1:]
    assert {r[0]: int(r[1].replace(",", "")) for r in seg_rows} == {
        s: int(n) for s, n in summary["n_customers"].items() if n > 0
    }

    risk = scorer.churn_risk(ev, AS_OF).set_index(Columns.CUSTOMER)[Columns.CHURN_PROBABILITY]
    assert f"{int((risk >= 0.5).sum()):,} of {len(risk):,} customers" in page.section_text["churn"]

    value = scorer.cltv(ev, AS_OF).set_index(Columns.CUSTOMER)[Columns.EXPECTED_VALUE].reindex(risk.index)
    expected = (risk * value).sort_values(ascending=False, kind="stable").index[:20].tolist()
    listed = [row[0] for row in page.tables["at-risk"][0][1:]]
    assert listed == expected
    assert f"{value.sum():,.0f}" in page.section_text["equity"]


def test_recommendation_examples_show_catalogue_names(report: Path, scorer: Scorer, catalogue: pd.DataFrame) -> None:
    rows = read_page(report.read_text(encoding="utf-8")).tables["recommend"][0]
    assert rows[0] == ["customer", "segment", "#1", "#2", "#3", "#4", "#5"]
    names = dict(zip(catalogue[Columns.ITEM], catalogue["name"], strict=True))
    assert len(rows) == 6
    for row in rows[1:]:
        recs = scorer.recommend([row[0]], k=5)
        assert row[2:] == [names[i] for i in recs[Columns.ITEM]]


def test_reasons_fill_a_column_of_the_customers_worth_saving(
    sample_events: pd.DataFrame, scorer: Scorer, tmp_path: Path
) -> None:
    rfm = rfm_segments(sample_events, AS_OF)
    reasons = pd.concat(
        [
            pd.DataFrame({Columns.CUSTOMER: rfm.index, "rank": 2, "reason": [f"{d:.0f} days quiet" for d in
                                                                               rfm["recency_days"]]}),
            pd.DataFrame({Columns.CUSTOMER: rfm.index, "rank": 1, "reason": [f"{n} orders" for n in rfm["frequency"]]}),
        ]
    )
    out = build(sample_events, scorer, as_of=AS_OF, out=tmp_path / "r.html", reasons=reasons)
    table = read_page(out.read_text(encoding="utf-8")).tables["at-risk"][0]
    assert table[0][-1] == "reasons"
    for row in table[1:]:
        c = row[0]
        assert row[-1] == f"{rfm.at[c, 'frequency']} orders; {rfm.at[c, 'recency_days']:.0f} days quiet"


def test_events_after_as_of_change_nothing(
    report: Path, sample_events: pd.DataFrame, scorer: Scorer, catalogue: pd.DataFrame, tmp_path: Path
) -> None:
    before = events_before(sample_events, pd.Timestamp(AS_OF))
    assert len(before) < len(sample_events)
    cut = build(before, scorer, as_of=AS_OF, out=tmp_path / "cut.html", catalogue=catalogue)
    full_html = FOOTER_TIME.sub("", report.read_text(encoding="utf-8"))
    assert FOOTER_TIME.sub("", cut.read_text(encoding="utf-8")) == full_html


def test_sections_degrade_to_a_sentence_without_models_or_feedback(
    sample_events: pd.DataFrame, bundle_dir: Path, tmp_path: Path
) -> None:
    no_feedback = sample_events.loc[~sample_events[Columns.EVENT_TYPE].isin(["nps", "csat", "ces"])]
    out = build(no_feedback, bundle_dir / "rec_only", as_of=AS_OF, out=tmp_path / "r.html")  # a bundle path
    html = out.read_text(encoding="utf-8")
    page = read_page(html)
    assert [t for _, t in _headings(html)] == [f"{n}. {t}" for n, t in enumerate(SECTION_TITLES, 1)]
    for key in ("churn", "equity", "at-risk"):
        assert "The bundle has no " in page.section_text[key] and key not in page.tables
    assert "carry no NPS, CSAT or CES answers" in page.section_text["feedback"]
    assert "No evaluation was passed" in page.section_text["evaluation"]
    assert len(page.images) == 2  # customers and segments only
    assert page.tables["recommend"][0][1][2].startswith("I")  # item ids without a catalogue


def test_item_names_are_escaped(sample_events: pd.DataFrame, bundle_dir: Path, tmp_path: Path) -> None:
    scorer = Scorer.load(bundle_dir / "rec_only")
    top_item = scorer.recommend(["nobody"], k=1)[Columns.ITEM].iloc[0]
    catalogue = pd.DataFrame({Columns.ITEM: [top_item], "name": ['<script>alert("x")</script> & co']})
    out = build(sample_events, scorer, as_of=AS_OF, out=tmp_path / "r.html", catalogue=catalogue)
    html = out.read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co" in html


def test_evaluation_dicts_and_backtest_rows(
    sample_events: pd.DataFrame, bundle_dir: Path, scorer: Scorer, tmp_path: Path
) -> None:
    # the bundle's models were fitted as of AS_OF and the sample runs to 2024-12-31: a true out-of-time check
    evaluation = {
        "churn": evaluate_churn(scorer.bundle.churn, sample_events, AS_OF),
        "cltv": evaluate_cltv(scorer.bundle.cltv, sample_events, AS_OF),
    }
    out = build(sample_events, bundle_dir / "rec_only", as_of=AS_OF, out=tmp_path / "d.html", evaluation=evaluation)
    rows = read_page(out.read_text(encoding="utf-8")).tables["evaluation"][0]
    header, body = rows[0], rows[1:]
    assert header[-6:] == ["metric", "model", "baseline", "difference", "95 % interval", "verdict"]
    auc = next(r for r in body if r[header.index("metric")] == "roc_auc")
    churn = evaluation["churn"]
    assert auc[header.index("model")] == f"{churn['model']['roc_auc']:.4g}"
    assert auc[header.index("strongest baseline")] == churn["best_baseline"]
    better = churn["model"]["roc_auc"] > churn["baselines"][churn["best_baseline"]]["roc_auc"]
    assert auc[-1] == ("model better" if better else "model worse")

    m = churn["model"]
    backtest = pd.DataFrame(
        {
            "cutoff": ["2024-06-01", "2024-06-01", "2024-09-01"],
            "metric": ["roc_auc", "brier", "roc_auc"],
            "model": [m["roc_auc"], m["brier"], m["roc_auc"]],
            "baseline": [m["roc_auc"] - 0.01, m["brier"] + 0.02, m["roc_auc"] + 0.003],
        }
    )
    backtest["difference"] = backtest["model"] - backtest["baseline"]
    backtest["ci_low"] = backtest["difference"] - [0.005, 0.01, 0.01]
    backtest["ci_high"] = backtest["difference"] + [0.005, 0.01, 0.01]
    out = build(sample_events, bundle_dir / "rec_only", as_of=AS_OF, out=tmp_path / "b.html", evaluation=backtest)
    page = read_page(out.read_text(encoding="utf-8"))
    rows = page.tables["evaluation"][0]
    assert [r[-1] for r in rows[1:]] == ["model better", "model better", "no clear difference"]
    assert rows[0][0] == "cutoff" and rows[1][0] == "2024-06-01"
    assert "beat their strongest baseline in 2 of 3 comparisons and lose in 0" in page.section_text["evaluation"]
    # customers, segments, feedback, and the interval chart
    assert len(page.images) == 4 and "with 95 % intervals, in % of the baseline value" in page.images[-1]["alt"]
    assert png_size(page.images[-1]["src"])[1] > 0


def test_refuses_to_overwrite_and_leaves_no_temporary_files(
    sample_events: pd.DataFrame, bundle_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    out.write_text("keep me", encoding="utf-8")
    with pytest.raises(OutputExistsError, match="overwrite=True"):
        build(sample_events, bundle_dir / "rec_only", as_of=AS_OF, out=out)
    assert out.read_text(encoding="utf-8") == "keep me"
    build(sample_events, bundle_dir / "rec_only", as_of=AS_OF, out=out, overwrite=True)
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert list(tmp_path.iterdir()) == [out]
    # a file appearing between the first check and the final rename is not clobbered either
    with pytest.raises(OutputExistsError):
        write_atomic("new", out, overwrite=False)
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>") and list(tmp_path.iterdir()) == [out]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"bundle_or_scorer": 42}, "bundle_or_scorer"),
        ({"as_of": "yesterday"}, "as_of"),
        ({"catalogue": pd.DataFrame({"item_id": ["a"]})}, "catalogue"),
        ({"catalogue": {"a": "b"}}, "catalogue"),
        ({"reasons": pd.DataFrame({"customer_id": ["a"], "reason": ["x"]})}, "reasons"),
        ({"evaluation": "good"}, "evaluation"),
        ({"evaluation": pd.DataFrame({"metric": ["auc"]})}, "evaluation"),
        ({"title": 3}, "title"),
        ({"out": 3}, "out"),
    ],
)
def test_bad_arguments_raise_parameter_error(
    sample_events: pd.DataFrame, bundle_dir: Path, tmp_path: Path, kwargs: dict, match: str
) -> None:
    args = {"bundle_or_scorer": bundle_dir / "rec_only", "as_of": AS_OF, "out": tmp_path / "r.html", **kwargs}
    with pytest.raises(ParameterError, match=match):
        build(sample_events, **args)
    assert not any(tmp_path.iterdir())


def test_out_may_not_be_a_directory(sample_events: pd.DataFrame, bundle_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="directory"):
        build(sample_events, bundle_dir / "rec_only", as_of=AS_OF, out=tmp_path)


def test_build_documents_every_parameter() -> None:
    params = set(inspect.signature(build).parameters)
    assert params <= _parameters_section(inspect.getdoc(build) or "")


def test_report_modules_stay_small() -> None:
    root = Path(__file__).resolve().parents[2] / "src" / "cxml" / "report"
    for path in root.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert text.count("\n") < 400, path
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                body = node.body[1:] if ast.get_docstring(node) else node.body
                length = (body[-1].end_lineno or 0) - body[0].lineno + 1 if body else 0
                assert length < 80, f"{path.name}:{node.name} has {length} lines"


def test_lift_and_calibration_against_a_direct_computation() -> None:
    from cxml.report._risk import lift_and_calibration

    rng = np.random.default_rng(0)
    p = rng.random(1000)
    y = (rng.random(1000) < p).astype(np.float64)
    share, lift, table = lift_and_calibration(y, p)
    top = np.argsort(-p)[:100]
    assert share[99] == pytest.approx(0.1) and lift[99] == pytest.approx(y[top].mean() / y.mean())
    assert table["n"].sum() == 1000 and table["mean_predicted"].is_monotonic_increasing
    assert np.allclose(table["observed_rate"], table["mean_predicted"], atol=0.1)


def test_without_reasons_the_churn_model_explains_the_customers_worth_saving(report: Path,
                                                                             sample_events: pd.DataFrame,
                                                                             scorer: Scorer) -> None:
    table = read_page(report.read_text(encoding="utf-8")).tables["at-risk"][0]
    assert table[0][-1] == "reasons"
    first = table[1][0]
    expected = scorer.bundle.churn.reasons(sample_events, AS_OF, customers=[first], top=2)
    assert table[1][-1] == "; ".join(expected.sort_values("rank")["reason"])
    assert any(row[-1] for row in table[1:])
    assert all("__" not in row[-1] for row in table[1:])  # words, never internal feature names
