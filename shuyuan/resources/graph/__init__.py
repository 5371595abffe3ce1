"""The knowledge graph's pure parts: cycle search (``cycles``), the CSV format (``csvio``), the
1EdTech CASE 1.0 format (``case``) and tag suggestions from a resource's text (``suggest``).

Writes go through ``resources.actions.graph``; reads through ``resources.queries.graph``.
"""
