#!/usr/bin/env python3
"""Writes the generated seed corpora of the validate and bmm fuzz targets (corpus/<target>/).

The targets decode their input byte by byte, so any bytes are a valid case; these seeds only make
sure that every mode of the first (selector) byte is present from the start. Deterministic: rerun
it and the files come out the same.
"""
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    folder = os.path.join(HERE, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(bytes(data))


def main():
    rng = random.Random(20240611)
    # validate: selector = mode << 3 | (special values ? 4 : 0) | type (float/double x int32/int64).
    for mode in range(10):
        for typ in range(4):
            for special in (0, 4):
                if special and typ != 3:
                    continue
                sel = (mode << 3) | special | typ
                body = [rng.randrange(256) for _ in range(80)]
                write("validate", f"mode{mode}_type{typ}{'_special' if special else ''}", [sel] + body)
    # bmm: selector = api << 2 | type; the next bytes pick values, sizes, kernels and damage.
    for api in range(4):
        for typ in range(4):
            sel = (api << 2) | typ
            for variant in range(2):
                body = [rng.randrange(256) for _ in range(160)]
                body[0] = 200  # small values, comparisons on
                body[1] = 100  # dimensions up to 7
                body[11] = 0 if variant == 0 else 230  # no damage, or some damage
                write("bmm", f"api{api}_type{typ}_{variant}", [sel] + body)


if __name__ == "__main__":
    main()
