"""Attack campaigns: who is hijacked, when, from where, and the labelled events it leaves.

`schedule.plan_attacks` turns a preset into a time-sorted list of attacks; the run calls each
attack once the simulation reaches its start, and the attack writes all its events (those
later than now wait in the stream's buckets).
"""
