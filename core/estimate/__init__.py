"""Offset and drift between the lips and the audio, with a confidence that is a probability.

The modules, in the order the measurement uses them:

- :mod:`core.estimate.sync`: the public entry points (:func:`estimate_sync`, :func:`estimate_faces`) and
  the flow between the parts;
- :mod:`core.estimate.speaker`: the cross-speaker model that turns mouth and sound into one signal each;
- :mod:`core.estimate.moments`: weighted moments per block and lag, which add up across blocks;
- :mod:`core.estimate.correlation`: correlations read from those moments;
- :mod:`core.estimate.peak`: the best lag and how far it stands out;
- :mod:`core.estimate.drift`: drift and splices from the windows' offsets;
- :mod:`core.estimate.bilabial`: lip releases against consonant bursts, a second opinion and the
  moments to check by eye;
- :mod:`core.estimate.confidence`: evidence to calibrated probability;
- :mod:`core.estimate.fitted`: the shipped, fitted numbers.
"""

from core.estimate.fitted import FittedModel, load_fitted_model
from core.estimate.sync import MAX_SEARCH_MS, EstimatorSettings, estimate_faces, estimate_sync

__all__ = ["MAX_SEARCH_MS", "EstimatorSettings", "FittedModel", "estimate_faces", "estimate_sync",
           "load_fitted_model"]
