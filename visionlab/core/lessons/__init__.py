"""The lessons: the lecture notes as a guided, checked path through the app (see model.py)."""
