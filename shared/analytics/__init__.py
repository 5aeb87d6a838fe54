"""The analytical layer: landed rows of domain events and the semantic model over them."""
