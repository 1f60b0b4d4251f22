"""Run tokens: signed for one execution and one agent, by this server's secret key only."""

from __future__ import annotations

from agented.run_tokens import RunClaims, RunTokens
from agented.security.stream_tokens import StreamTokens


def test_a_run_token_names_its_execution_and_agent() -> None:
    tokens = RunTokens("k" * 32)
    assert tokens.read(tokens.issue("exe_1", "agt_1")) == RunClaims("exe_1", "agt_1")


def test_a_changed_forged_or_malformed_token_is_refused() -> None:
    tokens = RunTokens("k" * 32)
    token = tokens.issue("exe_1", "agt_1")
    other_agent = token.replace("agt_1", "agt_2")
    other_key = RunTokens("j" * 32).issue("exe_1", "agt_1")
    stream_token, _ = StreamTokens("k" * 32, 60).issue("/mcp")
    for bad in (other_agent, other_key, stream_token, "", "a.b", "..", token + "0"):
        assert tokens.read(bad) is None, bad
