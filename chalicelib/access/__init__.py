"""Who may do what: the route policy (policy.py) and the caller's scope (scope.py). Decided here, once."""
