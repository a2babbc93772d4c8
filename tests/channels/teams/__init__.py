"""Tests of the Microsoft Teams channel."""
