"""spiking_bpdl: biologically plausible deep learning with spiking neurons.

Leaky integrate-and-fire populations in Brian2, event-driven STDP read as gradient
descent (Bengio et al. 2015), layer pairs with feedback trained by STDP or by the rate
rule they approximate, the paper's target-propagation generative model, and
variational probability flow (Liu, Quek & Lin 2018).

Submodules are imported on demand so that ``import spiking_bpdl`` stays cheap
(Brian2 is only loaded by the spiking parts).
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
