"""Dispatch: turning planned runs into finished ones, in this process or (later) elsewhere."""
