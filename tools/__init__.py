"""Tools around the product: the benchmark, its plain-script baseline, MLflow UI screenshots."""
