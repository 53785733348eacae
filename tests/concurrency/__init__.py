"""What the concurrency tests run in separate processes (spawned: importable by name)."""
