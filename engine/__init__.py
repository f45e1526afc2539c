"""The query engine: sessions, SQL, DataFrames, batch jobs and ML loaders over lakehouse tables."""
