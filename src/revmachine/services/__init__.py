"""Use cases: one function, one transaction. The CLI and the API call these, nothing else."""
