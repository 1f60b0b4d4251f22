"""`agented`, the terminal client: drives a running server over its HTTP API, nothing else.

It imports nothing of the server (so it runs against a server anywhere, of any
version that speaks the same API): `config` finds the server and the key,
`client` speaks HTTP and SSE, `commands` parses the command line, `output`
prints, and `exits` names every exit code.
"""
