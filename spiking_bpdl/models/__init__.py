"""Models built from the rate and spiking backends (the paper's target-prop generative model, ...)."""
