"""CLI subcommands, one module each with `register(subparsers)`; bot.cli lists them."""
