"""Errors that the command line turns into one clear line and a non-zero exit."""


class DarnError(Exception):
    """Base class: anything the user can cause (bad input, damaged file, wrong model)."""


class InputError(DarnError):
    """An input image, array or path that cannot be used as it is."""


class FormatError(DarnError):
    """A .darn file that is damaged, foreign, from the future, or made with another model."""


class ModelError(DarnError):
    """A model file or name that cannot be loaded."""
