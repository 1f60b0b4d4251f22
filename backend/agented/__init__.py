"""Agented: run AI coding agents as bots, with live output over Server-Sent Events."""

__version__ = "0.1.0"

from .app import create_app

__all__ = ["__version__", "create_app"]
