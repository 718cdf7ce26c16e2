"""Rewards: ledger, reward rules, monthly close, statements and exports."""
