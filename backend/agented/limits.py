"""Raise the process's open-file limit to what the system allows, once, when serving starts.

Every client connection, SSE stream, running CLI's pipes and the database take
a file descriptor. Many systems start processes with a soft limit of 1,024,
which about a thousand connections exhaust: the server then cannot accept
anyone, not even the admin or a health check. The hard limit (often far
higher) is ours to take without privileges, so the soft limit is raised to it.
A CLI inherits the raised limit, which does it no harm: it starts with only
stdin, stdout and stderr open.
"""

from __future__ import annotations

import logging
import resource

logger = logging.getLogger(__name__)

# macOS reports an unlimited hard limit but refuses a soft limit above this.
FALLBACK_LIMIT = 10_240


def raise_open_file_limit() -> int:
    """Set RLIMIT_NOFILE's soft limit to the hard limit; log and return the resulting soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, FALLBACK_LIMIT)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        except (ValueError, OSError) as error:
            logger.warning(
                "open-file limit stays at %d: cannot raise it to %d (%s)", soft, wanted, error
            )
            return soft
        logger.info("open-file limit raised from %d to %d", soft, wanted)
        return wanted
    logger.info("open-file limit is %d", soft)
    return soft
