"""``rstf.keras.utils``: the registration helpers of :mod:`rstf.keras.serialization` (also
names of :mod:`rstf.keras.saving`) under their other Keras names."""

from .serialization import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)

__all__ = ["CustomObjectScope", "custom_object_scope", "get_custom_objects", "get_registered_name",
           "get_registered_object", "register_keras_serializable"]
