"""The search: its space, the HyperModel, the tuners, their state and distributed mode."""
