"""close2cash runtime package: shipped to every Lambda; knows nothing of CDK or infra."""
