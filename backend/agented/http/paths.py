"""Paths recognised outside Quart's router: the SSE streams, served as raw ASGI."""

from __future__ import annotations

import re

# The execution log stream is served as raw ASGI in front of Quart, so it has no
# Quart rule; its path is recognised by the route table and the stream routes alike.
STREAM_PATH = re.compile(r"^/admin/executions/([^/]{1,100})/stream/?$")  # group 1: the id
