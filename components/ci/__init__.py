"""What only CI runs: the secrets load step and the drift check."""
