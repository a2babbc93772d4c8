"""Composition root: settings, wiring, server and CLI. Nothing else imports this package."""
