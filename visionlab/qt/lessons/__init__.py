"""The Lessons view: the lecture's topics, each leading to the panel state that shows it."""
