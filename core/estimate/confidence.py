"""Confidence as a probability: the chance that a measured offset is within one frame of the truth.

A measurement's :class:`Evidence` is a handful of numbers that each say, in a different way, how clearly
the lips meet this sound at the measured lag. A logistic model (:class:`Calibration`) turns them into
the probability that the answer is within one frame, fitted by grouped cross-validation on the corpus:
on the clips' own audio (shifted by known amounts), where an answer is right or wrong, and on other
clips' audio under each picture, where every answer is wrong. Below the threshold chosen the same way
the measurement is inconclusive. The shipped weights are in :mod:`core.estimate.fitted`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats
from scipy.optimize import minimize

__all__ = ["EVIDENCE_NAMES", "THRESHOLD_CERTAINTY", "Calibration", "Evidence", "choose_threshold",
           "fit_calibration", "share_bounds"]

# The last two let two opinions count for more where the peak they back is strong: the clip's own correlation
# agreeing with a prominent peak, lip releases matching a strong one. Mismatched audio makes chance peaks
# that one opinion may back, but rarely a strong peak that both back.
EVIDENCE_NAMES = ("prominence", "strength", "log_seconds", "own_correlation_agrees", "lip_releases_matched",
                  "log_search", "prominence_if_own_agrees", "strength_times_releases", "stretches_disagree")
# L2 penalty of the logistic fit, per weight (the evidence is on scales of about 1 to 10).
CALIBRATION_L2 = 1e-3
# The threshold's limits (other audio answered, answers right) are to hold with this certainty, one-sided.
THRESHOLD_CERTAINTY = 0.95


@dataclass(frozen=True)
class Evidence:
    """What one measurement (a clip, or a window of it) shows at its best lag.

    Attributes
    ----------
    prominence : how far the cross-speaker correlation's peak stands above the same curve at other
        lags, in robust standard deviations (:func:`core.estimate.peak.prominence`).
    strength : the peak's correlation times the square root of the seconds of speech it rests on;
        roughly its distance from chance in standard errors.
    seconds : seconds of speech with the face in view at the peak's lag.
    own_correlation_agrees : whether the clip's own canonical correlation, which fits this clip and
        nothing else, peaks within ``AGREE_MS`` of the same lag.
    lip_releases_matched : the share of mid-speech lip releases that have a consonant burst within
        ``MATCH_REACH_MS`` of the lag (:mod:`core.estimate.bilabial`); 0 without releases.
    search_ms : the search range the peak was found in; a wider range gives chance more lags to win.
    stretches_disagree : the share of the measurement's short stretches (by speech) whose own peak lies
        more than ``AGREE_MS`` from the peak of the rest of it. Genuine audio reads one offset in stretch
        after stretch; chance peaks of other audio fall anywhere. A measurement of one stretch has nothing
        to disagree with and counts 0, so short clips are judged as before on the rest of the evidence.
    """

    prominence: float
    strength: float
    seconds: float
    own_correlation_agrees: bool
    lip_releases_matched: float
    search_ms: float
    stretches_disagree: float = 0.0

    def vector(self) -> np.ndarray:
        """The evidence in the order of :data:`EVIDENCE_NAMES`."""
        agrees = float(self.own_correlation_agrees)
        return np.array([self.prominence, self.strength, np.log(max(self.seconds, 0.1)), agrees,
                         self.lip_releases_matched, np.log(self.search_ms / 1000.0), self.prominence * agrees,
                         self.strength * self.lip_releases_matched, self.stretches_disagree])


@dataclass(frozen=True)
class Calibration:
    """Logistic weights over :data:`EVIDENCE_NAMES` and the confidence below which an answer is withheld."""

    weights: np.ndarray
    intercept: float
    threshold: float

    def confidence(self, evidence: Evidence) -> float:
        """The probability that the measurement is within one frame of the truth."""
        z = self.intercept + float(self.weights @ evidence.vector())
        return float(1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0))))

    def to_dict(self) -> dict[str, Any]:
        return {"evidence": list(EVIDENCE_NAMES), "weights": [round(float(w), 6) for w in self.weights],
                "intercept": round(float(self.intercept), 6), "threshold": round(float(self.threshold), 4)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        if list(data["evidence"]) != list(EVIDENCE_NAMES):
            raise ValueError(f"calibration is for evidence {data['evidence']}, not {list(EVIDENCE_NAMES)}")
        return cls(np.asarray(data["weights"], float), float(data["intercept"]), float(data["threshold"]))


def fit_calibration(evidence: np.ndarray, right: np.ndarray, weight: np.ndarray,
                    l2: float = CALIBRATION_L2) -> tuple[np.ndarray, float]:
    """Logistic regression of ``right`` on ``evidence``: (weights, intercept).

    Parameters
    ----------
    evidence : (n, len(EVIDENCE_NAMES)) rows of :meth:`Evidence.vector`.
    right : (n,) 1 where the measurement was within one frame, else 0.
    weight : (n,) weight of each row in the likelihood.
    """
    x = np.column_stack([np.ones(len(evidence)), evidence])
    y = np.asarray(right, float)
    w = np.asarray(weight, float) / np.sum(weight)

    def loss(beta: np.ndarray) -> tuple[float, np.ndarray]:
        z = np.clip(x @ beta, -30.0, 30.0)
        p = 1.0 / (1.0 + np.exp(-z))
        value = -np.sum(w * (y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12))) + l2 * np.sum(beta[1:] ** 2)
        grad = x.T @ (w * (p - y))
        grad[1:] += 2 * l2 * beta[1:]
        return float(value), grad

    beta = minimize(loss, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B").x
    return beta[1:], float(beta[0])


def choose_threshold(confidence: np.ndarray, right: np.ndarray, mismatched: np.ndarray,
                     max_mismatched: float = 0.03, min_right: float = 0.99, certainty: float = THRESHOLD_CERTAINTY
                     ) -> float:
    """The lowest confidence to answer at such that, with ``certainty``, at most ``max_mismatched`` of the
    mismatched-audio measurements are answered and at least ``min_right`` of the answered true ones are right.

    The shares are bounded (one-sided Wilson bounds, :func:`share_bounds`) rather than taken as counted: a
    threshold where the counted share just meets a limit meets it on new clips only about half the time.
    ``certainty=0.5`` takes the shares as counted.

    Parameters
    ----------
    confidence : (n,) stated confidence of each measurement.
    right : (n,) whether each was within one frame (always False for mismatched audio).
    mismatched : (n,) whether the audio was another clip's.
    """
    confidence, right, mismatched = (np.asarray(a) for a in (confidence, right, mismatched))
    z = float(stats.norm.ppf(certainty))
    for threshold in np.unique(np.concatenate([[0.5], confidence])):
        answered = confidence >= threshold
        true_answered = answered & ~mismatched
        mismatched_share = share_bounds(int(answered[mismatched].sum()), int(mismatched.sum()), z)[1] \
            if mismatched.any() else 0.0
        right_share = share_bounds(int(right[true_answered].sum()), int(true_answered.sum()), z)[0] \
            if true_answered.any() else 1.0
        if threshold >= 0.5 and mismatched_share <= max_mismatched and right_share >= min_right:
            return float(threshold)
    return 1.0


def share_bounds(count: int, total: int, z: float) -> tuple[float, float]:
    """Wilson score bounds (low, high) of the share ``count / total`` (``total > 0``), ``z`` standard errors
    either side."""
    share = count / total
    scale = 1.0 + z * z / total
    centre = (share + z * z / (2 * total)) / scale
    half = z * np.sqrt(share * (1 - share) / total + z * z / (4 * total * total)) / scale
    return float(centre - half), float(centre + half)
