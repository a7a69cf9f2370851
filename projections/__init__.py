"""Read models folded from the log, and the queries that read them."""
