#!/usr/bin/env python3
"""Assembles a harness's seed corpus from the tree's fixtures (scripts/fuzz
runs it; nothing is copied into the tree).

    corpus.py OUTDIR SPEC...

OUTDIR is emptied first. A SPEC is
    <glob>        the matching files as they are
    otlp:<file>   an OTLP fixture manifest (tests/fixtures/otlp/manifest.json):
                  each body, gunzipped when its content_encoding is gzip, after
                  the signal byte fuzz_otlp_json reads: '0' traces ("span"),
                  '1' metrics ("metric"), '2' logs ("log")
Seeds are named <directory>-<file> after their source; prints how many."""
import glob
import gzip
import json
import os
import shutil
import sys

SIGNAL = {"span": b"0", "metric": b"1", "log": b"2"}


def seed_name(path):
    return os.path.basename(os.path.dirname(path)) + "-" + os.path.basename(path)


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    out, specs = argv[0], argv[1:]
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    n = 0
    for spec in specs:
        if spec.startswith("otlp:"):
            manifest = spec[len("otlp:"):]
            base = os.path.dirname(manifest)
            with open(manifest) as f:
                entries = json.load(f)
            for e in entries:
                src = os.path.join(base, e["path"])
                with open(src, "rb") as f:
                    body = f.read()
                if e.get("content_encoding") == "gzip":
                    body = gzip.decompress(body)
                with open(os.path.join(out, seed_name(src)), "wb") as f:
                    f.write(SIGNAL[e["kind"]] + body)
                n += 1
            continue
        files = sorted(glob.glob(spec))
        if not files:
            sys.exit(f"corpus.py: no seed matches {spec}")
        for src in files:
            shutil.copyfile(src, os.path.join(out, seed_name(src)))
            n += 1
    print(n)


if __name__ == "__main__":
    main(sys.argv[1:])
