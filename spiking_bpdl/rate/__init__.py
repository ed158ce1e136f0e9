"""Rate (non-spiking) numpy backend: layer pairs with feedforward and feedback paths.

The main abstraction is :class:`spiking_bpdl.rate.layer_pair.LayerPair`, a feedforward
encoder ``f`` and a feedback decoder ``g`` between two layers, trained with local targets.
"""
