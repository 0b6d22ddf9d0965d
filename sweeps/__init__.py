"""Sweeps over difficulty schedules: an Optuna study whose trials are training runs on Ray."""
