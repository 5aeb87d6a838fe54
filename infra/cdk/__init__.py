"""The AWS renderer of infra/wiring.py: a CDK app whose stack loops over the wiring."""
