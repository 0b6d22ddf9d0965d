"""RL math as pure tensor functions: advantages, token log-probabilities, losses."""
