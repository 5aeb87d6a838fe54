"""End-to-end flows on the local runtime with the vendor sandboxes."""
