"""`python -m agented.cli`: the same as the `agented` console script."""

from .commands import main

raise SystemExit(main())
