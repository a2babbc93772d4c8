"""The LangGraph agent: understanding, routing, risk policy, approvals and the audit log."""
