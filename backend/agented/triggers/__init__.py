"""What fires a bot: generic webhooks, GitHub pull-request events, and schedules."""
