"""Copy a trained model into the package as a bundled preset and register it.

Usage::

    python scripts/bundle_preset.py RUN/model jsb-small "description" [--default]

Copies ``config.json`` and ``model.weights.h5`` into ``src/bachnet/presets/NAME/``, then
records their sha256, the size and the test figures saved with the model in
``src/bachnet/presets/index.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from bachnet.core.files import sha256_of
from bachnet.model.saving import CONFIG_FILE, WEIGHTS_FILE

PRESETS = Path(__file__).resolve().parents[1] / "src" / "bachnet" / "presets"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="a folder written by save_pretrained")
    parser.add_argument("name")
    parser.add_argument("description")
    parser.add_argument("--default", action="store_true", help="make it the default preset")
    args = parser.parse_args()
    target = PRESETS / args.name
    target.mkdir(parents=True, exist_ok=True)
    files = {}
    for name in (CONFIG_FILE, WEIGHTS_FILE):
        shutil.copyfile(args.model / name, target / name)
        files[name] = sha256_of(target / name)
    config = json.loads((target / CONFIG_FILE).read_text(encoding="utf-8"))
    index_file = PRESETS / "index.json"
    index = json.loads(index_file.read_text(encoding="utf-8"))
    index["presets"][args.name] = {
        "description": args.description,
        "size": sum((target / name).stat().st_size for name in files),
        "metrics": config["metadata"].get("metrics", {}),
        "bundled": True,
        "files": files,
    }
    if args.default:
        index["default"] = args.name
    index_file.write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    print(f"bundled {args.name}: {index['presets'][args.name]['size']:,} bytes, {files}")


if __name__ == "__main__":
    main()
