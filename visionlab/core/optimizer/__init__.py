"""The Optimizer Lab's engine: loss surfaces, a safe expression parser, optimizer update rules that reproduce
torch.optim step for step, and the sweeps (basin map, learning-rate strip, sharp-vs-flat statistics)."""
