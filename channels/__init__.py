"""Chat channels (Slack, Teams, local): thin adapters around the neutral port in `channels.base`."""
