"""The error every model loader raises when a model cannot be loaded here."""


class ModelUnavailableError(RuntimeError):
    """The model cannot be loaded here; the message says what to do."""
