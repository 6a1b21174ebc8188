"""What can go wrong in a workflow, by what the caller should do about it.

A command line maps these to its exit codes (:class:`BadInput` 2, :class:`Failed` 1,
:class:`Unavailable` 3); the message always says what happened and what to do.
"""

from worker_manager.failures import ServiceUnavailable


class WorkflowError(Exception):
    """Base of the workflow errors."""


class BadInput(WorkflowError):
    """The caller asked for something that cannot be: fix the request and try again."""


class Failed(WorkflowError):
    """The request was fine but could not be carried out (the message says why)."""


class Unavailable(WorkflowError, ServiceUnavailable):
    """Something else holds what is needed (a port, a home another node serves)."""
