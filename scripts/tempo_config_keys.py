#!/usr/bin/env python3
"""Writes the YAML key paths of Grafana Tempo's configuration, one dotted path per line, sorted.

Source: scripts/data/tempo_config_blocks.txt, our transcription of the key paths of Tempo's key
list (docs/sources/tempo/configuration/manifest.md; the commit is named in the file's header),
in the block format of scripts/mimir_config_keys.py ("## block", "key", "a.b @block", "## extra").

The result is src/traces/config/tempo_config_keys.txt, which sprout embeds to tell "a real Tempo
key sprout does not implement yet" (a warning) from "not a Tempo key" (an error):
  scripts/tempo_config_keys.py --blocks scripts/data/tempo_config_blocks.txt \
      > src/traces/config/tempo_config_keys.txt
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mimir_config_keys import from_blocks  # noqa: E402  (same block format)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", required=True)
    args = parser.parse_args()
    keys = from_blocks(args.blocks)
    sys.stdout.write("".join(k + "\n" for k in sorted(keys)))


if __name__ == "__main__":
    main()
