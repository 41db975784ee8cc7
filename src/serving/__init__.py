"""Exporting the champion: the Model Registry, the files and the model card."""
