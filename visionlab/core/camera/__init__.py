"""The Live Camera's core: frame sources, detectors / segmenters, overlays, the capture → inference pipeline.

No module in this package imports Qt. Pretrained weights come from `visionlab.core.weights` (shared with
Feature Maps); the panel reaches all of this through `live.py`.
"""
