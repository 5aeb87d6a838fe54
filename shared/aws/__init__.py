"""Adapters for ports on AWS services (DynamoDB, EventBridge, SQS, Secrets Manager, Step Functions)."""
