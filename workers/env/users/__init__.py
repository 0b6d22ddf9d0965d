"""The simulated users: the rule user and its difficulty knob, the LLM user and RLVER's, the
emotion track they keep, and the one factory the rollout worker calls."""
