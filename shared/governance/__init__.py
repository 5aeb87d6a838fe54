"""Landscape configuration: connected systems, their roles, ownership and mappings."""
