"""AutoRecommender selects popularity when a personal model's lead on validation is within the noise."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cxml.recommend import AutoRecommender
from cxml.recommend._search import NOISE_SE, USER_NDCG, guarded_choice


def _record(candidate: str, users: np.ndarray) -> dict[str, Any]:
    return {"candidate": candidate, "ndcg": float(users.mean()), "note": "", USER_NDCG: users}


def test_a_lead_within_the_noise_selects_popularity() -> None:
    rng = np.random.default_rng(0)
    pop = rng.random(400)
    noisy = pop + rng.normal(0.0, 0.3, 400)  # noise around popularity
    noisy += 1e-3 - (noisy.mean() - pop.mean())  # mean lead 0.001, far below one standard error
    records = [_record("popularity", pop), _record("als", noisy), _record("skipped", np.zeros(0))]
    records[2]["ndcg"] = np.nan
    assert guarded_choice(records) == 0
    assert records[1]["note"].startswith("not selected: NDCG@k +0.0010")
    assert f"{NOISE_SE:g} x its standard error" in records[1]["note"]


def test_a_clear_lead_keeps_the_best_and_popularity_winning_is_kept() -> None:
    rng = np.random.default_rng(1)
    pop = rng.random(400)
    better = pop + 0.05 + rng.normal(0.0, 0.01, 400)
    records = [_record("popularity", pop), _record("blend", better)]
    assert guarded_choice(records) == 1 and records[1]["note"] == ""
    records = [_record("popularity", better), _record("ease", pop)]
    assert guarded_choice(records) == 0 and records[1]["note"] == ""


def test_auto_marks_the_guarded_choice_as_selected(small_events: pd.DataFrame) -> None:
    auto = AutoRecommender(candidates=("itemknn", "popularity"), k=5, progress=False).fit(small_events)
    board = auto.leaderboard_
    assert board["selected"].sum() == 1
    chosen = board.loc[board["selected"]].iloc[0]
    assert chosen["model"] == type(auto.best_).__name__
    passed_over = board["note"].str.startswith("not selected")
    if chosen["candidate"] == "popularity" and board.iloc[0]["candidate"] != "popularity":
        assert passed_over.iloc[0]
    else:
        assert chosen.name == 0 and not passed_over.any()
