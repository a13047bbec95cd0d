"""`python -m bot` runs the assistant; subcommands for the rest (`python -m bot --help`)."""

from bot.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
