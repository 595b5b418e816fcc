"""A seeded brokerage simulator: customers, markets and attack campaigns as labelled events.

No real brokerage or login dataset is reachable, so detection quality is measured on this
simulation instead, calibrated on the published figures in the domain brief (§1.3, §4). The
output is the canonical event schema plus a ground-truth label per event (docs/simulation.md).
The simulator is tooling, not part of the risk core: it imports no web or storage framework.
"""

SIMULATOR_VERSION = "1.0"
