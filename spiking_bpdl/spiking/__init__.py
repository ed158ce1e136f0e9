"""Brian2 backend: spiking layer pairs and the block-wise training engine."""
