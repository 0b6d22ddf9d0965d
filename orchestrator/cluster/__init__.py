"""Ray work: the session, the placement group, the groups of rollout workers and learner ranks a
run drives, and job submission to a cluster."""
