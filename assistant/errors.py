"""Errors a user can act on; each message says what happened and what to do."""


class AssistantError(Exception):
    """Base class: a user's mistake or an unavailable service, shown as one line."""


class SeedError(AssistantError):
    """A seed listing file cannot be read or recognised."""


class StorageError(AssistantError):
    """The index is missing, locked, corrupted or unreachable."""


class ModelError(AssistantError):
    """A bundled model is missing or cannot be loaded."""


class LLMError(AssistantError):
    """The language model endpoint failed (refused, timed out, HTTP error, bad reply)."""


class QuestionError(AssistantError):
    """A question or query cannot be used as given."""
