"""Read functions of the registry, one module per area (``records``, ``imports``, ``quality``,
``catalog``). Other apps import these modules; every function goes through ``visible_to``."""
