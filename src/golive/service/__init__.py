"""The service description: golive.toml and the route table, read once, on which local/ and deploy/ stand."""
