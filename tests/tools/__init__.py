"""Tests of the provisioning and accounts-payable tools."""
