"""Participation: chores, claims, submissions and approvals."""
