"""``rstf.keras``: layers, models, losses, optimizers and callbacks."""

from . import activations, callbacks, initializers, layers, losses, optimizers
from .models import Model, Sequential

__all__ = ["activations", "callbacks", "initializers", "layers", "losses", "optimizers", "Model",
           "Sequential"]
