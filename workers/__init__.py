"""Ray actors and what they hold: rollout workers, the learner, generation backends, the user
simulators and scenario bank, and the RL math as pure functions."""
