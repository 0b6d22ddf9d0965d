"""The dialogue environment: scenarios, the strategy scorer, user simulators, scripted policies."""
