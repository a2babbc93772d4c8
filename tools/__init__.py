"""Provisioning (SCIM 2.0) and accounts-payable tools, with their clients and sample data."""
