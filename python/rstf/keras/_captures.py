"""The base of every object whose config is its constructor arguments (layers, losses,
optimizers): :class:`CapturesInit` records them, :mod:`rstf.keras.serialization` writes them
as JSON. It imports nothing, so every Keras module can derive from it."""


class CapturesInit:
    """Records the arguments an object was constructed with (its config)."""

    def __new__(cls, *args, **kwargs):
        obj = super().__new__(cls)
        obj.__dict__["_init_args"] = (args, kwargs)
        return obj
