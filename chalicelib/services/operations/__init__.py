"""What 运维 works with: the dead-letter queues of the background jobs, and retrying them."""
