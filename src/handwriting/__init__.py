"""handwriting: a neural network written from scratch in NumPy that learns to read digits."""

__version__ = "0.1.0"
