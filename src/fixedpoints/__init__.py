"""fixedpoints: train RNNs on the N-bit FlipFlop task and find, classify and plot their fixed points."""

from .io import FileFormatError, load_data, load_history, load_model, save_data, save_model
from .models import RNN
from .tasks import FlipFlopData
from .training import TrainingHistory, train

__all__ = [
    "FileFormatError", "FlipFlopData", "RNN", "TrainingHistory", "load_data", "load_history", "load_model",
    "save_data", "save_model", "train",
]
