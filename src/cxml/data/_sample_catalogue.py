"""Items and tastes of the synthetic sample: latent categories, long-tailed popularity, prices.

A customer picks an item in two steps: a category from their own Dirichlet taste, then an item
from that category's popularity distribution. The taste is what a factor model can learn and a
popularity ranking cannot. Sampling is vectorised with one ``searchsorted`` over cumulative keys
that carry a block offset (row ``i`` of a cumulative table lives in ``(i, i + 1]``), so millions
of draws from per-customer distributions cost one sort-free pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Catalogue", "Tastes", "draw_items", "draw_popular_items", "make_catalogue", "make_tastes"]

#: categories for the default 500 items; fewer for tiny catalogues (at least ~5 items each)
MAX_CATEGORIES = 15
#: spread of within-category popularity (log-normal sigma): a long tail of rarely bought items
POPULARITY_SIGMA = 1.2
#: total Dirichlet concentration of a customer's taste: small = focused on one to three categories
TASTE_CONCENTRATION = 1.5
#: log-normal price: category price level, then item spread around it
PRICE_LOG_MEAN = 3.0
PRICE_CATEGORY_SIGMA = 0.5
PRICE_ITEM_SIGMA = 0.6
MIN_PRICE = 0.5


@dataclass(frozen=True)
class Catalogue:
    """Items sorted by category, with what is needed to draw them.

    Attributes
    ----------
    category : ndarray of int, shape (n_items,)
        Category of each item (non-decreasing).
    price : ndarray of float, shape (n_items,)
        Unit price, rounded to cents.
    item_key : ndarray of float, shape (n_items,)
        ``category + cumulative within-category popularity``: a uniform ``u`` in category ``c``
        maps to item ``searchsorted(item_key, c + u)``.
    category_share : ndarray of float, shape (n_categories,)
        Prior weight of each category (used for tastes).
    popular_key : ndarray of float, shape (n_items,)
        Cumulative marginal popularity (for browsing that ignores taste).
    """

    category: np.ndarray
    price: np.ndarray
    item_key: np.ndarray
    category_share: np.ndarray
    popular_key: np.ndarray

    @property
    def n_items(self) -> int:
        return int(self.category.size)

    @property
    def n_categories(self) -> int:
        return int(self.category_share.size)


@dataclass(frozen=True)
class Tastes:
    """Per-customer category tastes as block-offset cumulative keys, shape (n_customers, n_categories)."""

    key: np.ndarray
    n_categories: int


def make_catalogue(
    rng: np.random.Generator,
    n_items: int,
    *,
    zipf_exponent: float | None = None,
    n_categories: int | None = None,
) -> Catalogue:
    """Draw categories, popularity and prices of ``n_items`` items.

    By default within-category popularity is log-normal and categories are
    ``min(MAX_CATEGORIES, n_items // 5)``. With ``zipf_exponent`` the same draws only rank the
    items: item of rank ``r`` (1 = most popular) gets weight ``r ** -zipf_exponent`` and each
    category's prior share becomes its items' total weight, so the marginal popularity is exactly
    Zipf; the random stream is the same either way.
    """
    n_cat = max(1, min(MAX_CATEGORIES, n_items // 5)) if n_categories is None else n_categories
    share = rng.dirichlet(np.full(n_cat, 3.0))
    # every category gets at least one item, the rest in proportion to its share
    counts = 1 + rng.multinomial(n_items - n_cat, share)
    category = np.repeat(np.arange(n_cat), counts)
    weight = rng.lognormal(0.0, POPULARITY_SIGMA, n_items)
    if zipf_exponent is not None:
        rank = np.empty(n_items, dtype=np.float64)
        rank[np.argsort(-weight, kind="stable")] = np.arange(1, n_items + 1)
        weight = rank**-zipf_exponent
        share = np.bincount(category, weights=weight, minlength=n_cat) / weight.sum()
    within = weight / np.bincount(category, weights=weight, minlength=n_cat)[category]
    item_key = category + _block_cumsum(within, counts)

    level = rng.lognormal(PRICE_LOG_MEAN, PRICE_CATEGORY_SIGMA, n_cat)
    price = np.maximum(
        np.round(level[category] * rng.lognormal(0.0, PRICE_ITEM_SIGMA, n_items), 2), MIN_PRICE
    )

    # marginal popularity under the average taste: what a popularity baseline would learn
    marginal = share[category] * within
    popular_key = np.cumsum(marginal / marginal.sum())
    popular_key[-1] = 1.0
    return Catalogue(category, price, item_key, share, popular_key)


def make_tastes(
    rng: np.random.Generator,
    n_customers: int,
    catalogue: Catalogue,
    concentration: float = TASTE_CONCENTRATION,
) -> Tastes:
    """Draw a Dirichlet category taste per customer around the catalogue's category shares."""
    theta = rng.dirichlet(concentration * catalogue.category_share, size=n_customers)
    # tiny concentrations (many categories) can underflow a row to 0/0; such a customer gets the prior
    bad = ~np.isfinite(theta).all(axis=1)
    if bad.any():
        theta[bad] = catalogue.category_share
    cum = np.cumsum(theta, axis=1)
    cum[:, -1] = 1.0
    cum += np.arange(n_customers, dtype=np.float64)[:, None]
    return Tastes(cum.ravel(), catalogue.n_categories)


def draw_items(
    rng: np.random.Generator, customer: np.ndarray, tastes: Tastes, catalogue: Catalogue
) -> np.ndarray:
    """One item per entry of ``customer`` (customer indices), drawn from that customer's taste."""
    n_cat = tastes.n_categories
    u = rng.random(customer.size)
    flat = np.searchsorted(tastes.key, customer + u, side="right")
    cat = np.clip(flat - customer * n_cat, 0, n_cat - 1)
    return _draw_in_category(rng, cat, catalogue)


def draw_popular_items(rng: np.random.Generator, size: int, catalogue: Catalogue) -> np.ndarray:
    """``size`` items drawn from the marginal popularity, ignoring taste."""
    idx = np.searchsorted(catalogue.popular_key, rng.random(size), side="right")
    return np.minimum(idx, catalogue.n_items - 1)


def _draw_in_category(rng: np.random.Generator, cat: np.ndarray, catalogue: Catalogue) -> np.ndarray:
    idx = np.searchsorted(catalogue.item_key, cat + rng.random(cat.size), side="right")
    # float rounding can push a draw one past its category's block; pull it back in
    idx = np.minimum(idx, catalogue.n_items - 1)
    off = catalogue.category[idx] != cat
    if off.any():
        first = np.searchsorted(catalogue.category, cat[off], side="left")
        last = np.searchsorted(catalogue.category, cat[off], side="right") - 1
        idx[off] = np.clip(idx[off], first, last)
    return idx


def _block_cumsum(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Cumulative sum restarting at every block; each block's last value is set to exactly 1."""
    total = np.cumsum(values)
    ends = np.cumsum(counts)
    before = np.concatenate(([0.0], total[ends[:-1] - 1]))
    out = total - np.repeat(before, counts)
    out[ends - 1] = 1.0
    return out
