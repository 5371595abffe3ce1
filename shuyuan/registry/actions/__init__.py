"""Write use cases of the registry, one module per area (``imports``, ``quality``,
``catalog``). Every action takes a keyword-only ``actor``, checks permission, runs in a
transaction and records the change log."""
