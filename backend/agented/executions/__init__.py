"""Running bots: CLI backends, the process manager, rate-limit detection and retries."""
