"""The pure rollout core: phases, status, actions and decide(). No boto3, no clock, no I/O."""
