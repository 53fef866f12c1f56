"""Per-person health state: the latest NAT sample and the vaccination doses joined into every staff view,
and the overnight run that rebuilds it from the kept records."""
