"""Atomic, self-verifying checkpoints for long jobs.

A checkpoint is one ``.npz`` file holding named arrays plus a JSON metadata record
(configuration, progress, RNG state...) and a SHA-256 over all of it. Writing goes to a
temporary file that replaces the old checkpoint only once complete, so a killed job
always leaves the previous good checkpoint. Loading verifies the digest and raises
:class:`~spiking_bpdl.errors.CheckpointError` on a truncated or tampered file; it never
overwrites anything.
"""

import hashlib
import json
import zipfile

import numpy as np

from ._io import atomic_path, to_jsonable
from .errors import CheckpointError

__all__ = ["save_checkpoint", "load_checkpoint", "open_checkpoint", "run_name"]


def run_name(backend, frozen=()):
    """File stem of a run (its checkpoint, JSON and weights): ``spiking``, ``rate``, or
    ``spiking_frozen-W1`` with projections frozen (layer stacks and layer pairs alike)."""
    return backend + (f"_frozen-{'-'.join(sorted(frozen))}" if frozen else "")


def _digest(arrays, meta_json):
    h = hashlib.sha256(meta_json.encode())
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        h.update(key.encode() + str(a.dtype).encode() + str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def save_checkpoint(path, arrays, meta):
    """Write ``arrays`` (dict name -> ndarray) and ``meta`` (JSON-able dict) atomically.

    Parameters
    ----------
    path : str or Path
    arrays : dict of str to ndarray
    meta : dict
    """
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    meta_json = json.dumps(to_jsonable(meta), sort_keys=True)
    payload = dict(arrays)
    payload["__meta__"] = np.frombuffer(meta_json.encode(), dtype=np.uint8)
    payload["__sha256__"] = np.frombuffer(_digest(arrays, meta_json).encode(), dtype=np.uint8)
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, **payload)


def load_checkpoint(path, expect_meta=None, upgrade_meta=None):
    """Load and verify a checkpoint written by :func:`save_checkpoint`.

    Parameters
    ----------
    path : str or Path
    expect_meta : dict, optional
        Keys whose values must match the stored metadata (e.g. the configuration); a
        mismatch raises CheckpointError instead of silently resuming another run.
    upgrade_meta : callable, optional
        ``meta -> meta``: the stored metadata as the present version would write it (e.g. the keys
        a configuration gained since, at the defaults that keep the earlier behaviour), applied
        before the comparison; the returned ``meta`` is the upgraded one.

    Returns
    -------
    arrays : dict of str to ndarray
    meta : dict
    """
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {path} does not exist") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise CheckpointError(f"checkpoint {path} is corrupt ({exc.__class__.__name__})") from None
    if "__meta__" not in arrays or "__sha256__" not in arrays:
        raise CheckpointError(f"checkpoint {path} is not a spiking_bpdl checkpoint")
    meta_json = arrays.pop("__meta__").tobytes().decode()
    stored = arrays.pop("__sha256__").tobytes().decode()
    if _digest(arrays, meta_json) != stored:
        raise CheckpointError(f"checkpoint {path} is corrupt (SHA-256 mismatch)")
    meta = json.loads(meta_json)
    if upgrade_meta is not None:
        meta = upgrade_meta(meta)
    for key, value in (expect_meta or {}).items():
        if to_jsonable(value) != meta.get(key):
            raise CheckpointError(
                f"checkpoint {path} was written with {key}={meta.get(key)!r}, not {to_jsonable(value)!r}; "
                f"use another --out or drop --resume"
            )
    return arrays, meta


def open_checkpoint(path, resume, expect_meta=None, upgrade_meta=None):
    """The checkpoint a job continues from, or None for a fresh start.

    Parameters
    ----------
    path : str, Path or None
        The job's checkpoint (None: the job writes none).
    resume : bool
        The user asked to continue.
    expect_meta, upgrade_meta : optional
        As for :func:`load_checkpoint`.

    Returns
    -------
    tuple or None
        ``(arrays, meta)`` when resuming, else None.

    Raises
    ------
    CheckpointError
        A checkpoint exists but ``resume`` is False (a fresh run would overwrite it), or ``resume``
        is True and there is none.
    """
    from pathlib import Path

    exists = path is not None and Path(path).exists()
    if exists and not resume:
        raise CheckpointError(f"{path} exists; pass --resume to continue it, or choose another --out")
    if resume and not exists:
        raise CheckpointError(f"nothing to resume: {path} does not exist")
    return load_checkpoint(path, expect_meta=expect_meta, upgrade_meta=upgrade_meta) if resume else None
