"""`python -m bot` and its subcommands: the grammar (``parser``), the entry point (``main``) and
one module per command group, imported only when its command is chosen."""
