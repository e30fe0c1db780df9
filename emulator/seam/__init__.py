"""The seam between the owner process and the front's workers, and everything both sides speak: the service
error and its one rendering (wire_errors), which service a request is for (services), the typed serving spec
and the table that carries it (serving), the worker settings handed over at start (worker_settings), and the one
client a worker has to the owner (owner). `front/` and `control/` depend on this package, never on each other."""
