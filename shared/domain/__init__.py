"""The canonical model of the opportunity-to-cash lifecycle: stdlib + pydantic only."""
