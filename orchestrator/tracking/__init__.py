"""What a run leaves behind and how it is read: the MLflow tracker, the curves drawn from it, and
the statistics that compare runs over seeds."""
