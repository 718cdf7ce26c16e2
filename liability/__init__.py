"""Liability: versioned safety briefings, acceptances, withdrawals and receipts."""
