#!/usr/bin/env python3
"""The reference build for `npm run bench --python-tuf`: python-tuf's Metadata API, in one process, no git.

Reads the bench's targets.jsonl ({"path","length","sha256"} per line), puts every target in its succinct
hashed bin, signs every bin, targets, snapshot and timestamp with ed25519 keys made for the run, and writes
each role's file. Prints one JSON line: {"assign": s, "sign_write": s, "total": s, "roles": n, "tuf": version}.

    python3 scripts/bench-reference.py --targets FILE --bins B --out DIR [--python-tuf CHECKOUT]

python-tuf comes from the environment (pip install tuf) or from a checkout named by --python-tuf (its
dependencies installed: securesystemslib and, for securesystemslib before 1.0, PyNaCl).
"""
import argparse
import json
import os
import sys
import time
from datetime import datetime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", required=True)
    parser.add_argument("--bins", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--python-tuf")
    args = parser.parse_args()
    if args.bins < 2 or args.bins & (args.bins - 1):
        sys.exit("--bins must be a power of two >= 2")
    if args.python_tuf:
        sys.path.insert(0, os.path.abspath(args.python_tuf))
    try:
        import tuf
        from tuf.api.metadata import Delegations, Metadata, MetaFile, Snapshot, SuccinctRoles, TargetFile, Targets, Timestamp
        from tuf.api.serialization.json import JSONSerializer
    except ImportError as error:
        sys.exit(f"python-tuf is not importable ({error}); pip install tuf, or name a checkout (--python-tuf here, --reference CHECKOUT in the bench)")

    def signer_and_key():
        # securesystemslib >= 1.0 has CryptoSigner; 0.2x has SSlibSigner over a key dictionary.
        try:
            from securesystemslib.signer import CryptoSigner

            signer = CryptoSigner.generate_ed25519()
            return signer, signer.public_key
        except ImportError:
            from securesystemslib.keys import generate_ed25519_key
            from securesystemslib.signer import SSlibKey, SSlibSigner

            key = generate_ed25519_key()
            return SSlibSigner(key), SSlibKey.from_securesystemslib_key(key)

    started = time.perf_counter()
    os.makedirs(args.out, exist_ok=True)
    # naive UTC: python-tuf 3 takes only that, later releases read it as UTC
    expires = datetime(2030, 1, 1)
    bins_signer, bins_key = signer_and_key()
    targets_signer, _ = signer_and_key()
    online_signer, _ = signer_and_key()
    succinct = SuccinctRoles(keyids=[bins_key.keyid], threshold=1, bit_length=args.bins.bit_length() - 1, name_prefix="bins")
    targets = Metadata(Targets(expires=expires))
    targets.signed.delegations = Delegations(keys={bins_key.keyid: bins_key}, roles=None, succinct_roles=succinct)
    bins = {name: Metadata(Targets(expires=expires)) for name in succinct.get_roles()}
    with open(args.targets, encoding="utf-8") as lines:
        for line in lines:
            entry = json.loads(line)
            path = entry["path"]
            bins[succinct.get_role_for_target(path)].signed.targets[path] = TargetFile(entry["length"], {"sha256": entry["sha256"]}, path)
    assigned = time.perf_counter()

    serializer = JSONSerializer()
    snapshot = Metadata(Snapshot(expires=expires))
    for name, role in bins.items():
        role.sign(bins_signer)
        role.to_file(os.path.join(args.out, f"{name}.json"), serializer)
        snapshot.signed.meta[f"{name}.json"] = MetaFile(version=role.signed.version)
    targets.sign(targets_signer)
    targets.to_file(os.path.join(args.out, "targets.json"), serializer)
    snapshot.signed.meta["targets.json"] = MetaFile(version=targets.signed.version)
    snapshot.sign(online_signer)
    snapshot.to_file(os.path.join(args.out, "snapshot.json"), serializer)
    timestamp = Metadata(Timestamp(expires=expires, snapshot_meta=MetaFile(version=snapshot.signed.version)))
    timestamp.sign(online_signer)
    timestamp.to_file(os.path.join(args.out, "timestamp.json"), serializer)
    done = time.perf_counter()
    print(
        json.dumps(
            {
                "assign": round(assigned - started, 3),
                "sign_write": round(done - assigned, 3),
                "total": round(done - started, 3),
                "roles": len(bins) + 3,
                "tuf": getattr(tuf, "__version__", "?"),
            }
        )
    )


if __name__ == "__main__":
    main()
