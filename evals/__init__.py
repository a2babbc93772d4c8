"""The maintainers' eval suite: datasets, metrics, reports and the release gate."""
