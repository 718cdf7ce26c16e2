"""Rewards engine."""
