"""Prompt templates."""

from __future__ import annotations

from agented.executions.templates import render


def test_known_placeholders_are_filled_and_unknown_ones_reported() -> None:
    rendered = render(
        "Review {pr_url} for {message}; missing {pr_title} and {pr_title} again",
        {"pr_url": "https://x/pr/1", "message": "me"},
    )
    assert (
        rendered.prompt == "Review https://x/pr/1 for me; missing {pr_title} and {pr_title} again"
    )
    assert rendered.unresolved == ("pr_title",)


def test_braces_that_are_not_placeholders_stay_untouched() -> None:
    template = 'Return JSON like {"ok": true} or { message } or {}; code: if (x) {y();}'
    assert render(template, {"message": "m"}).prompt == template


def test_dotted_paths_reach_into_payloads() -> None:
    context = {"payload": {"event": {"user": "ada", "items": [{"kind": "bug"}]}}}
    rendered = render("{payload.event.user} {payload.event.items.0.kind} {payload.nope}", context)
    assert rendered.prompt == "ada bug {payload.nope}"
    assert rendered.unresolved == ("payload.nope",)


def test_values_are_rendered_as_text() -> None:
    context = {"n": 3, "flag": True, "none": None, "paths": ["/a", "/b"], "obj": {"k": 1}}
    assert (
        render("{n} {flag} [{none}] {paths} {obj}", context).prompt == '3 true [] /a, /b {"k": 1}'
    )
