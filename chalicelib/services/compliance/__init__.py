"""Who broke their category's testing rule (§2.5–2.6): the categories' 告警设置, and next the overnight
run over the health roster and the 09:00 push."""
