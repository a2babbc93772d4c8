"""Slack channel tests over real HTTP."""
