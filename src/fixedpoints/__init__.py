"""fixedpoints: train RNNs on the N-bit FlipFlop task and find, classify and plot their fixed points."""

from .finder import FixedPointFinder
from .fixed_points import FixedPoints
from .io import FileFormatError, load_data, load_history, load_model, save_data, save_model
from .models import RNN
from .tasks import FlipFlopData
from .training import TrainingHistory, train

__all__ = [
    "FileFormatError", "FixedPointFinder", "FixedPoints", "FlipFlopData", "RNN", "TrainingHistory", "load_data",
    "load_history", "load_model", "save_data", "save_model", "train",
]
