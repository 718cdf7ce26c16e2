"""Finance exports: rent credit CSV, SEPA pain.001, ledger CSV and the payee report.

Each writer takes plain rows (dataclasses of strings, dates and integer cents)
and returns the file's bytes, so it can be tested without a database and fed
from closed-period data by ``rewards.statements.services``.
"""
