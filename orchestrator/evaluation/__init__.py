"""Held-out evaluation: the dialogues a policy plays on test-split users at fixed difficulties,
and the policies it can play (a checkpoint, a scripted policy, the user's own file)."""
