"""Statement handlers, one module per family; each registers itself with ``engine.sql.dispatch``."""
