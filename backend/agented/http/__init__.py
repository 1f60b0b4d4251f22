"""The bottom of the HTTP edge: what `security` and `api` both speak, and nothing they own.

ASGI types, request ids, the JSON error shape and the stream paths live here so
that the security middleware and the API layer share them without importing
each other; this package imports nothing else from Agented but `log`.
"""
