"""Build spiking_bpdl/_data/embedded_subset.npz from the full IDX files.

Usage: python scripts/build_embedded_subset.py [DATA_DIR]

Takes the first 2,000 training and first 500 test images (and labels) of MNIST and
Fashion-MNIST, unchanged uint8, so the package can run its main job offline.
"""

import sys


from spiking_bpdl._io import save_npz
from spiking_bpdl.data import EMBEDDED_PATH, _FILES, _ensure_file, data_dir, read_idx

N_TRAIN, N_TEST = 2000, 500


def main(argv):
    root = data_dir(argv[1] if len(argv) > 1 else None)
    arrays = {}
    for name in ("mnist", "fashion-mnist"):
        for split, n in (("train", N_TRAIN), ("test", N_TEST)):
            key = f"{name.replace('-', '_')}_{split}"
            arrays[key + "_images"] = read_idx(_ensure_file(name, _FILES[(split, "images")], root, False))[:n]
            arrays[key + "_labels"] = read_idx(_ensure_file(name, _FILES[(split, "labels")], root, False))[:n]
    save_npz(EMBEDDED_PATH, **arrays)
    print(f"wrote {EMBEDDED_PATH} ({EMBEDDED_PATH.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main(sys.argv)
