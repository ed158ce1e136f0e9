"""Layer stacks of any depth: definitions, the rate twin with target propagation, and exact backprop.

* :mod:`.config`: the stack definition (``networks/classifier_mnist*.toml``) as a validated
  :class:`~spiking_bpdl.stack.config.StackConfig`;
* :mod:`.twin`: the rate twin (LIF transfer functions) and its local rule, difference target
  propagation with a nudged top layer;
* :mod:`.backprop`: exact gradients of the same rate forward pass (the reference);
* :mod:`.train`: minibatch training loops of both, with validation curves;
* :mod:`.network`: the stack's spiking network in Brian2.
"""

from .config import (FEEDBACK_MODES, HIDDEN_TARGETS, TARGETS, LayerSpec, ProjSpec, StackConfig,
                     check_projection_names, fixed_feedback, freeze, load_stack, stack_from_data, stack_from_layer_pair,
                     with_added_defaults)

__all__ = ["StackConfig", "LayerSpec", "ProjSpec", "load_stack", "stack_from_data", "stack_from_layer_pair",
           "check_projection_names", "freeze", "fixed_feedback", "with_added_defaults", "TARGETS", "FEEDBACK_MODES",
           "HIDDEN_TARGETS"]
