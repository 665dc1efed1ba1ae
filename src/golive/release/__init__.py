"""Release tooling: checks against a running stage (verify) and the CI pipeline that ships it (ci)."""
