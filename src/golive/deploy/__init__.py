"""Deploy: golive.toml and the route table become an AWS SAM template (golive template) and a zip (golive package)."""
