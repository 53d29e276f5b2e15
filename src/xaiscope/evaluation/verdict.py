"""Which method can be trusted for this model: paired tests against the ``random`` control, and a plain summary.

For each method and each score column, the inputs where both the method and the ``random`` control have a defined
score are paired, and the differences tested with the **Wilcoxon signed-rank test** (two-sided, scipy; zero
differences dropped, Wilcoxon's convention). The effect size is the **matched-pairs rank-biserial correlation**
``r = (R_better - R_worse) / (R_better + R_worse)`` (Kerby 2014), oriented so that ``r > 0`` means the method
scores better than the control (in the metric's ``direction``): +1 when every non-zero difference favours the
method. p-values are adjusted over every test of the audit by Holm's step-down method, and a difference counts only
when the adjusted p is below ``alpha`` (0.05).

The verdict reads three questions: *faithfulness* (does the map beat the control on deletion and insertion?),
*sanity* (does the map change more than a map that ignores the model when the weights are randomised?) and
*localisation* (does the map point at the known lesion or fake stretch more than chance?).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: The control every method is compared with.
CONTROL = "random"
#: Significance level (after Holm's adjustment).
ALPHA = 0.05
#: The score columns each question of the verdict reads, in order: (category, metric, output).
QUESTIONS: tuple[tuple[str, str, str], ...] = (
    ("faithfulness", "deletion", "auc"), ("faithfulness", "insertion", "auc"),
    ("sanity", "randomisation", "spearman"), ("sanity", "random_logit", "spearman"),
    ("localisation", "pointing_game", "score"), ("localisation", "relevance_mass", "score"),
    ("localisation", "relevance_rank", "score"),
)


@dataclass(frozen=True)
class Comparison:
    """One method against the control on one score column, over the inputs where both are defined.

    Attributes:
        n: paired inputs; ``nonzero``: those whose difference is not zero (the test's sample).
        method_median, control_median: medians of the paired scores.
        p: two-sided Wilcoxon signed-rank p-value (NaN when there is nothing to test); ``p_holm``: Holm-adjusted.
        effect: rank-biserial correlation, > 0 when the method is better (NaN without non-zero differences).
    """

    method: str
    metric: str
    output: str
    category: str
    direction: str
    n: int
    nonzero: int
    method_median: float
    control_median: float
    p: float
    effect: float
    p_holm: float = float("nan")

    @property
    def better(self) -> bool:
        return bool(np.isfinite(self.p_holm) and self.p_holm < ALPHA and self.effect > 0)

    @property
    def worse(self) -> bool:
        return bool(np.isfinite(self.p_holm) and self.p_holm < ALPHA and self.effect < 0)

    @property
    def outcome(self) -> str:
        """``better``, ``worse``, ``no difference shown`` or ``not testable``."""
        if not np.isfinite(self.p):
            return "not testable"
        return "better" if self.better else "worse" if self.worse else "no difference shown"

    def record(self) -> dict[str, Any]:
        return {**{key: (None if isinstance(value, float) and not np.isfinite(value) else value)
                   for key, value in self.__dict__.items()}, "outcome": self.outcome}


def rank_biserial(differences: np.ndarray) -> float:
    """Matched-pairs rank-biserial correlation of ``(n,)`` paired differences (zeros dropped): in [-1, 1]."""
    from scipy.stats import rankdata

    nonzero = differences[differences != 0]
    if len(nonzero) == 0:
        return float("nan")
    ranks = rankdata(np.abs(nonzero))
    positive, negative = ranks[nonzero > 0].sum(), ranks[nonzero < 0].sum()
    return float((positive - negative) / (positive + negative))


def paired_test(method: np.ndarray, control: np.ndarray, direction: str) -> tuple[int, int, float, float]:
    """Wilcoxon signed-rank test of two aligned ``(n,)`` score arrays (NaN = undefined, dropped pairwise).

    Returns:
        ``(n, nonzero, p, effect)``: pairs, non-zero differences, two-sided p, rank-biserial r (> 0 = method better
        in ``direction``).
    """
    from scipy.stats import wilcoxon

    keep = np.isfinite(method) & np.isfinite(control)
    differences = (method[keep] - control[keep]) * (1.0 if direction == "higher" else -1.0)
    nonzero = int(np.count_nonzero(differences))
    if nonzero == 0:
        return int(keep.sum()), 0, float("nan"), float("nan")
    p = float(wilcoxon(differences[differences != 0], zero_method="wilcox", alternative="two-sided").pvalue)
    return int(keep.sum()), nonzero, p, rank_biserial(differences)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of ``p_values`` (NaNs kept as NaN and not counted)."""
    values = np.asarray(p_values, np.float64)
    adjusted = np.full(len(values), np.nan)
    tested = np.flatnonzero(np.isfinite(values))
    order = tested[np.argsort(values[tested], kind="stable")]
    running = 0.0
    for position, index in enumerate(order):
        running = max(running, min(1.0, (len(order) - position) * values[index]))
        adjusted[index] = running
    return adjusted.tolist()


def compare_with_control(columns: Mapping[tuple[str, str, str], np.ndarray], methods: Sequence[str],
                         directions: Mapping[str, str]) -> list[Comparison]:
    """Every method (the control excepted) against :data:`CONTROL` on every :data:`QUESTIONS` column present.

    Args:
        columns: ``(method, metric, output)`` -> ``(n_inputs,)`` scores aligned by input (NaN = undefined).
        directions: metric name -> ``higher`` or ``lower``.
    """
    found = []
    for method in methods:
        if method == CONTROL:
            continue
        for category, metric, output in QUESTIONS:
            ours, control = columns.get((method, metric, output)), columns.get((CONTROL, metric, output))
            if ours is None or control is None:
                continue
            n, nonzero, p, effect = paired_test(ours, control, directions.get(metric, "higher"))
            keep = np.isfinite(ours) & np.isfinite(control)
            found.append(Comparison(
                method=method, metric=metric, output=output, category=category,
                direction=directions.get(metric, "higher"), n=n,
                nonzero=nonzero, method_median=float(np.median(ours[keep])) if n else float("nan"),
                control_median=float(np.median(control[keep])) if n else float("nan"), p=p, effect=effect))
    adjusted = holm([c.p for c in found])
    return [Comparison(**{**c.__dict__, "p_holm": p_holm}) for c, p_holm in zip(found, adjusted, strict=True)]


def _p(value: float) -> str:
    return "p < 0.001" if value < 0.001 else f"p = {value:.3f}"


def method_verdicts(comparisons: Sequence[Comparison], labels: Mapping[str, str]) -> dict[str, str]:
    """One line per method: what it beats the control on, where it does not, and the overall call."""
    verdicts = {}
    for method, label in labels.items():
        if method == CONTROL:
            continue
        mine = [c for c in comparisons if c.method == method]
        if not mine:
            verdicts[method] = f"{label}: not compared (no control scores; add the `random` method)."
            continue
        by_category: dict[str, list[Comparison]] = {}
        for comparison in mine:
            by_category.setdefault(comparison.category, []).append(comparison)
        parts = []
        for category, items in by_category.items():
            testable = [c for c in items if c.outcome != "not testable"]
            if not testable:
                parts.append(f"{category}: not testable")
                continue
            wins = sum(c.better for c in testable)
            losses = sum(c.worse for c in testable)
            state = ("passes" if wins == len(testable) else "fails" if wins == 0 else "partly passes")
            parts.append(f"{category} {state} ({wins}/{len(testable)} better than the control"
                         + (f", {losses} worse" if losses else "") + ")")
        faithful = [c for c in mine if c.category == "faithfulness" and c.outcome != "not testable"]
        sane = [c for c in mine if c.category == "sanity" and c.outcome != "not testable"]
        if faithful and all(c.better for c in faithful) and (not sane or any(c.better for c in sane)):
            call = "trustworthy for this model on these inputs"
        elif any(c.better for c in faithful):
            call = "partly trustworthy"
        else:
            call = "not shown to be better than a random map"
        verdicts[method] = f"{label}: {call}; " + "; ".join(parts) + "."
    return verdicts


def plain_summary(comparisons: Sequence[Comparison], labels: Mapping[str, str], model: str, n_inputs: int,
                  not_applicable: Mapping[str, int]) -> str:
    """A one-paragraph, plain-language reading of the comparisons.

    Args:
        not_applicable: metric name -> number of (input, method) scores that were not applicable.
    """
    if not comparisons:
        return (f"For {model}, on {n_inputs} inputs, no method could be compared with the random control "
                "(add the `random` method and at least one faithfulness metric).")
    sentences = [f"For {model}, on {n_inputs} inputs, each method was compared with a random map (the control) "
                 "input by input (Wilcoxon signed-rank test, Holm-adjusted)."]
    for metric, what in (("deletion", "deletion (the class score falls faster when its top regions go)"),
                         ("insertion", "insertion (the class score returns faster when its top regions come back)"),
                         ("randomisation", "the weight-randomisation sanity check (the map changes when the model's "
                                           "weights are scrambled)"),
                         ("relevance_mass", "localisation (more of the map inside the known region)")):
        items = [c for c in comparisons if c.metric == metric]
        if not items:
            continue
        if all(c.outcome == "not testable" for c in items):
            sentences.append(f"On {what}, nothing could be tested (no input where both scores are defined"
                             + (", e.g. no ground truth)." if metric == "relevance_mass" else ")."))
            continue
        winners = [c for c in items if c.better]
        losers = [c for c in items if not c.better]
        if winners:
            named = ", ".join(f"{labels[c.method]} ({_p(c.p_holm)}, r = {c.effect:+.2f})" for c in winners)
            text = f"On {what}, {named} beat{'s' if len(winners) == 1 else ''} the control"
            if losers:
                text += "; " + ", ".join(labels[c.method] for c in losers) + (" does" if len(losers) == 1 else " do") \
                        + " not"
            sentences.append(text + ".")
        else:
            tested = ", ".join(f"{labels[c.method]} {_p(c.p_holm)}" for c in items if np.isfinite(c.p_holm))
            sentences.append(f"On {what}, no method beats the control" + (f" ({tested})." if tested else "."))
    most = max((c.n for c in comparisons), default=0)
    if most < 6:
        sentences.append(f"With {most} paired input(s) at most, no difference can reach significance (the "
                         "two-sided Wilcoxon test needs at least 6): audit more inputs.")
    skipped = {name: count for name, count in not_applicable.items() if count}
    if skipped:
        sentences.append("Not applicable scores are left out, never counted as numbers: " + ", ".join(
            f"{name} {count}" for name, count in sorted(skipped.items())) + ".")
    verdicts = method_verdicts(comparisons, labels)
    trusted = [labels[m] for m, line in verdicts.items() if "trustworthy for this model" in line]
    sentences.append("Overall, " + (", ".join(trusted) + (" is the method" if len(trusted) == 1 else " are the methods")
                                    + " to trust for this model on these inputs." if trusted else
                                    "no method passed both faithfulness tests and a sanity check; treat the maps "
                                    "as illustrations, not evidence."))
    return " ".join(sentences)
