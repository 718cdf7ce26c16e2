"""Klusbank: tenant participation and reward ledger."""

from klusbank.app import create_app

__all__ = ["create_app"]
