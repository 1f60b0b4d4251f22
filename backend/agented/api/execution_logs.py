"""An execution's whole log: searched on the server, and downloaded as plain text.

Both exist for logs too large to hand to a browser: a search answers with the
count and a window of matching seqs (see `executions/log_search.py`), and the
download streams the stored lines page by page, so neither the server nor the
client ever holds the whole log. A viewer asks for the first match from where
it is (`log/search/first`, quick) and for the count (`log/search`, a scan of
the whole log the first time) at once, and jumps as soon as the first answers.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from quart import Blueprint, Response
from quart_schema import document_response, validate_querystring

from ..executions.log_search import SearchTerms
from ..models import LogLine, iso_from_unix
from .responses import model_response
from .schemas import (
    LogLineOut,
    LogSearchFirst,
    LogSearchFirstQuery,
    LogSearchQuery,
    LogSearchResult,
    LogTextQuery,
)
from .services import found, runtime

blueprint = Blueprint("execution_logs", __name__, url_prefix="/admin/executions")

# Lines per database read of a download; a read also stops at about 512 KiB of text.
DOWNLOAD_PAGE_ROWS = 5000

_UNSAFE_IN_FILENAME = re.compile(r"[^A-Za-z0-9._-]")


@blueprint.get("/<execution_id>/log/search")
@validate_querystring(LogSearchQuery)
@document_response(LogSearchResult)
async def search_log(execution_id: str, query_args: LogSearchQuery) -> Response:
    """Matching lines in the whole stored log: their count and a window of their seqs."""
    services = runtime()
    execution = found(await services.execution_store.get(execution_id), "execution", execution_id)
    terms = SearchTerms(query_args.q, query_args.regex, query_args.case_sensitive)
    window = await services.log_search.search(
        execution_id,
        terms,
        execution.log_lines,
        offset=query_args.offset,
        at_seq=query_args.at_seq,
        limit=query_args.limit,
    )
    lines = (
        await services.execution_store.lines_at(execution_id, window.seqs)
        if query_args.lines
        else []
    )
    return model_response(
        LogSearchResult(
            total=window.total,
            offset=window.offset,
            matches=window.seqs,
            lines=[LogLineOut.model_construct(**line.as_dict()) for line in lines],
            searched_to=window.searched_to,
        )
    )


@blueprint.get("/<execution_id>/log/search/first")
@validate_querystring(LogSearchFirstQuery)
@document_response(LogSearchFirst)
async def first_match(execution_id: str, query_args: LogSearchFirstQuery) -> Response:
    """The first matching line at or after `from_seq` (else the first of the log), on its own:
    its scan stops at the match, and goes before any count under way."""
    services = runtime()
    execution = found(await services.execution_store.get(execution_id), "execution", execution_id)
    terms = SearchTerms(query_args.q, query_args.regex, query_args.case_sensitive)
    first = await services.log_search.first_from(
        execution_id, terms, query_args.from_seq, execution.log_lines
    )
    lines: list[LogLine] = []
    if first.seq is not None and query_args.around:
        after = max(0, first.seq - query_args.around // 2 - 1)
        lines, _more = await services.logs.read(execution_id, after, query_args.around)
    return model_response(
        LogSearchFirst(
            seq=first.seq,
            wrapped=first.wrapped,
            lines=[LogLineOut.model_construct(**line.as_dict()) for line in lines],
        )
    )


def _text(lines: list[LogLine], timestamps: bool) -> bytes:
    if timestamps:
        return "".join(
            f"{iso_from_unix(line.timestamp)} {line.content}\n" for line in lines
        ).encode()
    return "".join(f"{line.content}\n" for line in lines).encode()


@blueprint.get("/<execution_id>/log.txt")
@validate_querystring(LogTextQuery)
async def download_log(execution_id: str, query_args: LogTextQuery) -> Response:
    """The raw stored log as text, one line each (escape codes kept), streamed page by page."""
    services = runtime()
    execution = found(await services.execution_store.get(execution_id), "execution", execution_id)

    async def pages() -> AsyncIterator[bytes]:
        after = 0
        while True:
            lines, more = await services.logs.read(execution_id, after, DOWNLOAD_PAGE_ROWS)
            if lines:
                yield _text(lines, query_args.timestamps)
                after = lines[-1].seq
            if not (more and lines):
                return

    name = _UNSAFE_IN_FILENAME.sub("_", f"{execution.bot_name or 'execution'}-{execution.id}")
    response = Response(pages(), content_type="text/plain; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.log"'
    response.timeout = None  # a million lines to a slow client may take longer than a minute
    return response
