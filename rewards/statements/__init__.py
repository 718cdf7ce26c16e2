"""Rewards statements."""
