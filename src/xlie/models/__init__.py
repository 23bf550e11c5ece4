"""Model loading and the tiny locally built models of the demo."""
