"""TensorFlow's exception classes.

Every error raised by an op is an :class:`OpError`; bad shapes, dtypes and values raise
:class:`InvalidArgumentError`, which is also a ``ValueError``.

>>> import rstf
>>> try:
...     rstf.constant([1, 2]) + rstf.constant([1, 2, 3])
... except rstf.errors.InvalidArgumentError as e:
...     print(type(e).__name__)
InvalidArgumentError
"""

__all__ = [
    "OperatorNotAllowedInGraphError",
    "OpError",
    "InvalidArgumentError",
    "NotFoundError",
    "AlreadyExistsError",
    "ResourceExhaustedError",
    "OutOfRangeError",
    "UnimplementedError",
    "InternalError",
    "FailedPreconditionError",
    "UnknownError",
    "DataLossError",
    "DeadlineExceededError",
    "UnavailableError",
]


class OpError(Exception):
    """The base class of the errors raised by ops."""

    def __init__(self, message="", node_def=None, op=None):
        super().__init__(message)
        self.message = message
        self.node_def = node_def
        self.op = op


class InvalidArgumentError(OpError, ValueError):
    """An op received an invalid argument (shape, dtype, axis or value)."""


class NotFoundError(OpError):
    """A requested entity (file, op, kernel) was not found."""


class AlreadyExistsError(OpError):
    """An entity that an op tried to create already exists."""


class ResourceExhaustedError(OpError):
    """An allocation could not be made."""


class OutOfRangeError(OpError):
    """An operation iterated past a valid range."""


class UnimplementedError(OpError):
    """An operation is not implemented for the given arguments."""


class InternalError(OpError):
    """An internal invariant was broken: always a bug."""


class FailedPreconditionError(OpError):
    """The system is not in a state that allows the operation."""


class UnknownError(OpError):
    """An error of unknown kind."""


class DataLossError(OpError):
    """A file is truncated, corrupted or not in the expected format."""


class DeadlineExceededError(OpError):
    """An operation did not complete before its deadline (a collective that a worker never joined)."""


class UnavailableError(OpError):
    """A service or a peer is unavailable (a worker of a distributed job died)."""


class OperatorNotAllowedInGraphError(TypeError):
    """A Python operation that needs a tensor's value, used on a traced (symbolic) tensor."""
