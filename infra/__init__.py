"""Infrastructure: the one wiring, its two renderers (CDK, local runtime) and the CLI."""
