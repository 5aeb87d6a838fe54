"""Infra tier: the CDK rendering of the wiring, checked with Template assertions, cdk-nag and cfn-lint."""
