"""Corporations, clusters, units and tenancies."""
