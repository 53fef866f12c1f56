"""The staff search index: what a search by name or phone reads instead of the scope's partitions."""
