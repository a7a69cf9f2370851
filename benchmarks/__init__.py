"""Benchmarks that measure agentrun beside a plain eventsourcing baseline in the same run."""
