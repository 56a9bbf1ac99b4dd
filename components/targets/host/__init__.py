"""The host targets: a host over SSH (existing or provisioned) and local Docker."""
