"""Check: the go-live audit (seed 003's checklist) of a golive service or any SAM/CloudFormation template."""
