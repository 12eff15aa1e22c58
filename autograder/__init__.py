"""The sandboxed autograder: notebook reading, the untrusted worker, checks, reporting and the CLI."""
