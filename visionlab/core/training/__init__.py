"""Training: data sets, the model zoo, the trainer generator, diagnosis, runs and experiments (no Qt)."""
