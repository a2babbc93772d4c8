"""Local emulators of external services (Slack Web API) for tests and benchmarks."""
