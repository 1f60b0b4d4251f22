"""Accounts: the logins and API keys the CLIs run under, and when their providers limit them."""
