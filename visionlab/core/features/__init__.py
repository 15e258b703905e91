"""Conv feature-map viewer logic: conv arithmetic, layer table, receptive fields, capture, Grad-CAM."""
