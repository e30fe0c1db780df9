"""Containers: start, watch, isolate, reuse and reap the containers of one variant (a container group)."""
