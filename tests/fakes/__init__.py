"""Test doubles that must never ship: the fake OpenClaw gateway lives here, not in shared/."""
