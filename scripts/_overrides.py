"""``--set key=value`` overrides of a layer-pair definition, shared by the diagnostic scripts."""

import dataclasses


def apply_sets(cfg, items, **fixed):
    """Return ``cfg`` with ``fixed`` fields and each ``key=value`` item replaced (SI units).

    The value takes the type of the field it replaces (strings stay strings, unset fields are floats).
    """
    changes = dict(fixed)
    for item in items:
        key, value = item.split("=", 1)
        old = getattr(cfg, key)
        changes[key] = value if isinstance(old, str) else (float(value) if old is None else type(old)(value))
    return dataclasses.replace(cfg, **changes)
