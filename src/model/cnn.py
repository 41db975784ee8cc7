"""A convolutional family for small grey images: conv blocks, then a dense layer.

Two blocks of 32 and 64 filters with batch norm and dropout are the published small CNNs of
Fashion-MNIST (0.916-0.926 test accuracy under 500K parameters); a quick check on 2 cores
reached 0.914 after 6 epochs at 11-20 s per epoch.
"""

from __future__ import annotations

from dataclasses import dataclass

from src.model.arguments import arg

# Imported inside functions: TensorFlow takes seconds to load: it loads where a model is built
# or trained, never in the entry process or for a refused config.


@dataclass(frozen=True)
class CNN:
    """[[Conv(filters x 2^i, kernel) -> BatchNorm -> ReLU] x convs -> MaxPool -> Dropout] x blocks
    -> Flatten -> Dense(dense_units, relu) -> Dropout."""

    # Up to 4 blocks: each halves the 28x28 image (28, 14, 7, 3, 1).
    blocks: int = arg(2, min=1, max=4)
    # The first block's filters; each next block doubles them.
    filters: int = arg(32, min=1, max=512)
    kernel_size: int = arg(3, min=1, max=7)
    # Convolutions per block before its pooling: two see 5x5 at the cost of about twice the time.
    convs: int = arg(1, min=1, max=3)
    batch_norm: bool = arg(True)
    # How much of batch norm's moving averages each training step keeps. Keras' 0.99 averages
    # over ~100 steps and starts from mean 0, variance 1: after a short trial the averages still
    # hold the initialisation and lag the weights, so inference-mode scores (validation, test,
    # export) judge the start, not the model. 0.9 (PyTorch's default, ~10 steps) tracks them:
    # 3,600 images, 2 epochs, batch 32: val_accuracy 0.2425 at 0.99, 0.7575 at 0.9, 0.7575 with
    # the averages re-estimated over 50 training batches before scoring (3 s more per epoch);
    # all 54,000 images, 1 epoch, batch 128: 0.7818 at 0.99, 0.8708 at 0.9, 0.8713 re-estimated.
    batch_norm_momentum: float = arg(0.9, min=0, max=1, max_open=True)
    dropout: float = arg(0.25, min=0, max=1, max_open=True)
    dense_units: int = arg(128, min=1, max=4096)

    def features(self, x):
        """The layers between the scaled images and the softmax layer."""
        import keras

        if len(x.shape) == 3:  # (n, height, width): one grey channel
            x = keras.layers.Reshape((*x.shape[1:], 1), name="channel")(x)
        for i in range(self.blocks):
            for j in range(self.convs):
                x = self._conv(x, self.filters * 2**i, f"{i + 1}" + (f"_{j + 1}" if j else ""))
            x = keras.layers.MaxPooling2D(name=f"pool_{i + 1}")(x)
            if self.dropout > 0:
                x = keras.layers.Dropout(self.dropout, name=f"dropout_{i + 1}")(x)
        x = keras.layers.Flatten(name="flatten")(x)
        x = keras.layers.Dense(self.dense_units, activation="relu", name="dense")(x)
        if self.dropout > 0:
            x = keras.layers.Dropout(self.dropout, name="dropout_dense")(x)
        return x

    def _conv(self, x, filters: int, suffix: str):
        import keras

        x = keras.layers.Conv2D(
            filters,
            self.kernel_size,
            padding="same",
            use_bias=not self.batch_norm,  # batch norm's shift replaces the bias
            name=f"conv_{suffix}",
        )(x)
        if self.batch_norm:
            x = keras.layers.BatchNormalization(
                momentum=self.batch_norm_momentum, name=f"batch_norm_{suffix}"
            )(x)
        return keras.layers.Activation("relu", name=f"relu_{suffix}")(x)
