"""``rstf.keras``: layers, models, losses, optimizers and callbacks."""

from . import activations, callbacks, initializers, layers, losses, metrics, models, optimizers, saving, utils
from .layers import Input
from .models import Model, Sequential

__all__ = ["activations", "callbacks", "initializers", "layers", "losses", "metrics", "models", "optimizers",
           "saving", "utils", "Input", "Model", "Sequential"]
