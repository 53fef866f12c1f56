"""Provincial feeds (NAT results, vaccinations) dropped in S3: reading a file in blocks, checking its rows,
and ingesting them into the kept records and the health state."""
