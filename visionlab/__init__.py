"""VisionLab: a desktop visual lab for people learning deep learning."""

__version__ = "0.1.0"
