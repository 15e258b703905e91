"""Random shape scenes: the learning task of the detectors and segmenters that students train themselves.

Shared code, not a feature: the camera (a moving stream of scenes) and the trainer (still scenes, COCO
folders) both use it, so it imports no feature package of `visionlab.core`.
"""

from visionlab.core.shapes.scenes import CLASSES, Scene, iter_scenes, make_scene, make_scenes

__all__ = ["CLASSES", "Scene", "iter_scenes", "make_scene", "make_scenes"]
