"""Governance: the risk policy (file schema and decision engine), approval records and the audit log."""
