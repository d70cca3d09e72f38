"""Reinforcement learning stages: grpo.py (the trainer), losses.py (pure functions), rewards.py, data.py."""
