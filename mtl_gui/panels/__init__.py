"""The panels that edit the config (dataset, model, strategy, training) and control runs."""
