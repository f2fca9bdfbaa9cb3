"""Scheduled jobs: catalog entries with a Schedule trigger (EventBridge Scheduler on AWS, the local scheduler
in the dev stack). Each pages through bots by the status index and finishes within its Lambda timeout."""
