"""What every capability leans on: hashing and keyed digests, attempt counting, paging across index
partitions, running small DynamoDB calls side by side, and the Chinese per-field form messages."""
