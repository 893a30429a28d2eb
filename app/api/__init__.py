"""The terminal API: the contract's routes, their schemas, and the journal feed."""
