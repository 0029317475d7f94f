#!/usr/bin/python3
"""Capture golden Kafka request frames from real Kafka clients.

A small fake broker (stdlib only) listens on 127.0.0.1 on a free port, saves
every request frame it receives (without the 4-byte size prefix) and answers
with hand-encoded responses that are just rich enough for the client to go on
to its next request.  A driver runs kcat, confluent-kafka-python and
kafka-python against it and writes a MANIFEST.json describing every file.

Usage:
    /usr/bin/python3 tests/golden/capture.py --out tests/golden/data

Only the Python standard library is used by the listener itself; the clients
are run as subprocesses (each bounded by a timeout).  The optional codec
modules (snappy, lz4, zstandard) are only used to describe compressed record
batches in the manifest.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

# The modules below live next to this file; make them importable however
# this file is loaded (as a script or by path from test_capture.py).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from wire import APIS, Reader, describe_records, log  # noqa: E402
from schemas import decode_request_body, parse_request_header  # noqa: E402
from listener import CaptureListener  # noqa: E402
from drivers import CLIENTS, Driver, produced_data  # noqa: E402

# Re-exported for test_capture.py.
__all__ = ["CaptureListener", "Reader", "decode_request_body", "describe_records",
           "parse_request_header", "main"]


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(here, "data"), help="output directory")
    ap.add_argument("--clients", default=",".join(CLIENTS),
                    help="comma-separated subset of: " + ", ".join(CLIENTS))
    ap.add_argument("--python", default="/usr/bin/python3" if os.path.exists("/usr/bin/python3")
                    else sys.executable, help="interpreter with kafka-python / confluent_kafka")
    ap.add_argument("--timeout", type=float, default=20.0, help="per client run, seconds")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)

    out_dir = os.path.abspath(args.out)
    clients = [c.strip() for c in args.clients.split(",") if c.strip()]
    for c in clients:
        if c not in CLIENTS:
            ap.error(f"unknown client {c!r}")
    os.makedirs(out_dir, exist_ok=True)
    drv = Driver(out_dir, args.python, args.timeout, args.verbose)
    infos = {"kcat": drv.kcat_info(), "confluent-kafka-python": drv.confluent_info(),
             "kafka-python": drv.kafka_python_info()}

    manifest_path = os.path.join(out_dir, "MANIFEST.json")
    old = {}
    if os.path.exists(manifest_path):
        try:
            with open(manifest_path) as f:
                old = json.load(f)
        except (OSError, ValueError):
            old = {}
    entries = [e for e in old.get("files", []) if e.get("client") not in clients]
    client_meta = {k: v for k, v in old.get("clients", {}).items() if k not in clients}
    steps = [s for s in old.get("steps", []) if s.get("client") not in clients]
    errors: list[str] = []

    lst = CaptureListener(out_dir, verbose=args.verbose)
    lst.start()
    log(f"listening on {lst.bootstrap}")
    try:
        for client in clients:
            info = infos.get(client)
            client_dir = os.path.join(out_dir, client)
            if os.path.isdir(client_dir):
                shutil.rmtree(client_dir)
            if not info:
                log(f"[{client}] not available; skipped")
                client_meta[client] = {"skipped": "client not available"}
                continue
            lst.reset_state()
            lst.client = client
            lst.client_info = info
            if client == "kcat":
                drv.run_kcat(lst)
            elif client == "confluent-kafka-python":
                drv.run_confluent(lst)
            else:
                drv.run_kafka_python(lst, info)
            meta = dict(info)
            if client == "kafka-python":
                for s in drv.steps:
                    if s["client"] == client and "api_version" in s.get("stdout_tail", ""):
                        meta["inferred_api_version"] = s["stdout_tail"].split("api_version")[-1].strip()
                        break
            client_meta[client] = meta
    finally:
        lst.stop()

    entries += lst.entries
    entries.sort(key=lambda e: (e["client"], e["api_key"], e["api_version"], e.get("variant") or ""))
    steps += [{k: v for k, v in s.items() if k != "stdout_tail"} for s in drv.steps]
    errors += lst.errors
    for (client, name, ver), n in sorted(lst.counts.items()):
        log(f"[{client}] saw {n} x {name} v{ver}")
    manifest = {
        "description": "Kafka request frames captured from real clients by tests/golden/capture.py. "
                       "Each .bin file is one request frame without its 4-byte size prefix "
                       "(request header + body). 'request' is the decoded body.",
        "regenerate": "/usr/bin/python3 tests/golden/capture.py --out tests/golden/data",
        "clients": client_meta,
        "advertised_api_versions": {APIS[k][0]: {"api_key": k, "min": APIS[k][1], "max": APIS[k][2],
                                                 "first_flexible": APIS[k][3]} for k in sorted(APIS)},
        "produced": produced_data(),
        "steps": steps,
        "listener_errors": errors,
        "files": entries,
    }
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=False)
        f.write("\n")
    log(f"wrote {len(lst.entries)} files and {manifest_path}")
    failed = [s for s in drv.steps if not s.get("ok")]
    for s in failed:
        log(f"failed step: {s['client']} {s['step']}: {s.get('error') or s.get('returncode')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
