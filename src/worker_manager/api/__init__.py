"""The native HTTP API (FastAPI): ``/healthz``, ``/v1/info``, ``/v1/query`` and more."""

from worker_manager.api.app import create_app

__all__ = ["create_app"]
