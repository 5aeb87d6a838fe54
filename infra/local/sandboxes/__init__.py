"""Protocol-faithful local twins of each vendor API, with fault switches."""
