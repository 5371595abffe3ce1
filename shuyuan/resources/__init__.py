"""Digital education resources: submission, automatic content audit, three-stage review,
the subject knowledge graph, Chinese search, use and evaluation, retirement, inclusion
certificates and recommendation (see ``docs/apps/resources.md``)."""
