"""curation: review queues for curators, and the store of their decisions."""
