"""Composition root: settings, factories, channels, web app and CLI."""
