"""The detection scoreboard: what kabuguard stops, against baselines, in yen (docs/scoreboard.md).

Reads the simulator's events and ground-truth labels with the decisions `kabuguard replay`
wrote for those events, and scores kabuguard and three baselines in one streaming pass. Not
part of the pure risk core: it reads files and draws charts.
"""
