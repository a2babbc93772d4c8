"""The channel core every chat channel shares: the turn runner, the presenter and the wording.

Slack and Teams keep only what is platform-specific (parsing payloads, transport, Block Kit or Adaptive
Card layout); how a turn runs, which words users see and how times, sources and approvals read live here.
"""
