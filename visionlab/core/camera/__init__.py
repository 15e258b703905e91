"""Live vision: frame sources, detectors / segmenters, overlays and the weights store.

No module in this package imports Qt. `weights` (the store of pretrained torchvision files) imports torch
and torchvision only inside its functions, so importing it, or any module here that does not need torch,
stays cheap.
"""
