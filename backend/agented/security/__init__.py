"""Closed by default: API keys, stream tokens, host and CORS checks, headers, rate limits."""
