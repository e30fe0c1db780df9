"""Invocation: one request through a variant's containers (the chain), its targets and its outcomes."""
