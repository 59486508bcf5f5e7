"""handwriting: a neural network written from scratch in NumPy that learns to read digits.

``handwriting.recognize(image)`` reads the digits in a picture with the pretrained model.
"""

__version__ = "0.2.0"

from .recognizer import Recognition, recognize

__all__ = ["Recognition", "__version__", "recognize"]
