"""Hyperparameter sweeps of softmax classifiers: Hydra composes, keras-tuner searches, MLflow records."""

import logging
import os
import warnings

# TensorFlow's C++ start-up notices bury the sweep's own output; a user who wants them sets
# TF_CPP_MIN_LOG_LEVEL themselves.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Retracing notices are expected: every trial builds a new model.
logging.getLogger("tensorflow").setLevel(logging.ERROR)
# keras-tuner reloads best-epoch weights into a fresh model whose optimizer is not built yet;
# Keras notes it skips the optimizer state, which a reloaded model never needs.
warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
