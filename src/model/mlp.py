"""The lesson's classifier body: flatten, then Dense(relu) layers with optional dropout and L2."""

from __future__ import annotations

from dataclasses import dataclass

from src.model.arguments import arg

# Imported inside functions: TensorFlow takes seconds to load: it loads where a model is built
# or trained, never in the entry process or for a refused config.


@dataclass(frozen=True)
class MLP:
    """Flatten -> [Dense(hidden_units, relu) -> Dropout(dropout)] x layers."""

    hidden_units: int = arg(128, min=1, max=65536)
    layers: int = arg(1, min=1, max=16)
    dropout: float = arg(0.0, min=0, max=1, max_open=True)
    # L2 penalty on the hidden layers' weights (0: none).
    l2: float = arg(0.0, min=0, max=1)

    def features(self, x):
        """The layers between the scaled images and the softmax layer."""
        import keras

        x = keras.layers.Flatten(name="flatten")(x)
        regularizer = keras.regularizers.L2(self.l2) if self.l2 > 0 else None
        for i in range(self.layers):
            x = keras.layers.Dense(
                self.hidden_units,
                activation="relu",
                kernel_regularizer=regularizer,
                name=f"hidden_{i + 1}",
            )(x)
            if self.dropout > 0:
                x = keras.layers.Dropout(self.dropout, name=f"dropout_{i + 1}")(x)
        return x
