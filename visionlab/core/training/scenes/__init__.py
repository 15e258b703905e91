"""The Training Monitor's two scene tasks beside classification: semantic segmentation (a small FCN) and
detection (torchvision's FasterRCNN around a small backbone), both trained on `visionlab.core.shapes` scenes.

`events.py` holds what both tasks share: their config, the events their training generators yield (the GUI's
curves, the headless trainer and the bench read the same ones) and the checkpoint that rebuilds either model.
"""
