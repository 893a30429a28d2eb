"""Cash sessions of POS profiles: routes (views), schemas, service (writes), queries (reads)."""
