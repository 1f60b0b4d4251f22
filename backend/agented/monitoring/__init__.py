"""Monitoring: what runs now, what the accounts and bots used, the history, Prometheus metrics."""
