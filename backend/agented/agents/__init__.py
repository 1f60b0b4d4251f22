"""Agents and the durable message bus between them: inboxes, threads, live inbox streams."""
