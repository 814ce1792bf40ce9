"""Cameras, projection, rotations and the evaluation metrics (rotations and Procrustes from roma)."""
