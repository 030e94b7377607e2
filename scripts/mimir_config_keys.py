#!/usr/bin/env python3
"""Writes the YAML key paths of Grafana Mimir's configuration, one dotted path per line, sorted.

Two sources, same output:
  --descriptor cmd/mimir/config-descriptor.json   Mimir's own machine-readable description
                                                  (blocks with "blockEntries", fields with
                                                  "kind": "field")
  --blocks scripts/data/mimir_config_blocks.txt   our transcription of Mimir's reference docs,
                                                  where shared blocks (etcd, consul, s3, ...)
                                                  appear once and are placed with "@block"

Only leaves are written: a field whose value is a map or a list (metric_relabel_configs,
active_series_custom_trackers) is one leaf; sprout does not look inside it.

The result is src/metrics/config/mimir_config_keys.txt, which sprout embeds to tell "a real
Mimir key sprout does not implement yet" (a warning) from "not a Mimir key" (an error):
  scripts/mimir_config_keys.py --blocks scripts/data/mimir_config_blocks.txt \
      > src/metrics/config/mimir_config_keys.txt
"""
import argparse
import json
import sys


def from_descriptor(path):
    with open(path, encoding="utf-8") as f:
        root = json.load(f)
    out = set()

    def walk(block, prefix):
        for entry in block.get("blockEntries") or []:
            name = entry.get("name", "")
            full = f"{prefix}.{name}" if prefix and name else (name or prefix)
            if entry.get("kind") == "block":
                walk(entry, full)
            elif entry.get("kind") == "field":
                out.add(full)

    walk(root, "")
    return out


def from_blocks(path):
    blocks = {}
    current = None
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.strip()
            if not line or line.startswith("# "):
                continue
            if line.startswith("## "):
                current = line[3:].strip()
                blocks.setdefault(current, [])
                continue
            if current is None:
                raise SystemExit(f"{path}: key {line!r} before any '## block'")
            blocks[current].append(line)

    out = set()

    def expand(block, prefix, stack):
        if block in stack:
            raise SystemExit(f"{path}: block {block!r} includes itself")
        for line in blocks[block]:
            key, _, ref = line.partition(" @")
            full = f"{prefix}.{key}" if prefix else key
            if ref:
                if ref not in blocks:
                    raise SystemExit(f"{path}: unknown block {ref!r}")
                expand(ref, full, stack + [block])
            else:
                out.add(full)

    expand("root", "", [])
    for line in blocks.get("extra", []):
        out.add(line)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--descriptor")
    group.add_argument("--blocks")
    args = parser.parse_args()
    keys = from_descriptor(args.descriptor) if args.descriptor else from_blocks(args.blocks)
    sys.stdout.write("".join(k + "\n" for k in sorted(keys)))


if __name__ == "__main__":
    main()
