"""What officials and heads read: the ledger (§2.3) and the head's home (§2.4.2); the statistics join them."""
