"""Image handling: decode any picture, find the ink, and make MNIST-style 28x28 digits."""

from .load import load_gray
from .normalize import Digit, find_digits, to_mnist

__all__ = ["Digit", "find_digits", "load_gray", "to_mnist"]
