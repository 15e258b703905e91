"""Pure logic of VisionLab. Nothing in this package may import Qt (tests/core/test_no_qt_in_core.py)."""
