"""Events in, decisions out: the idempotent unit of work behind the decision API and its reads."""
