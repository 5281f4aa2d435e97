"""Wan Studio: the Gradio app."""
