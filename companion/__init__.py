"""companion: spaced-repetition flashcards and runnable PyTorch labs for deep learning."""

__version__ = "0.1.0"
