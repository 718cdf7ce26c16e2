"""Benchmarks that time Klusbank's heavy paths against a baseline run beside them.

Each script prints its figures and the ratio to its baseline; ``run_all`` runs
every script (``make bench``). Results and commands are in docs/benchmarks.md.
"""
