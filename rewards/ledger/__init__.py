"""Rewards ledger."""
