"""The driver loop, config, difficulty controllers, MLflow tracking, checkpoints and the CLI."""
