"""Sub-commands of the `detlab` CLI, one module each."""
