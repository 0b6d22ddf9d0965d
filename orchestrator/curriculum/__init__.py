"""Who moves the difficulty: the controllers, the mathematics they fit, and the Optuna study that is
their whole state."""
