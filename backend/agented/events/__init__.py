"""Live event streams: per-topic tails in memory, batched persistence, one SSE writer."""
