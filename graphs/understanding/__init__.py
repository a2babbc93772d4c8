"""Understanding a message without an LLM: intents, slots, privacy checks, cue patterns and lexicons."""
