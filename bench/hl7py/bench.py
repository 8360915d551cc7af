#!/usr/bin/env python3
"""Parse the HL7 v2 corpus with python-hl7 and hl7apy and print MB/s.

One line per library:  NAME MBps=X msgs=N failed=F bytes=B rounds=R
Files are read and split into messages (FHS/BHS envelopes dropped) before
timing, as the Go benchmark does; each library then parses every message
`rounds` times. Messages a library cannot parse are counted as failed and
left out of its byte count. Message contents are never printed.
"""
import argparse
import os
import sys
import time


def load(corpus):
    msgs = []
    for name in sorted(os.listdir(corpus)):
        with open(os.path.join(corpus, name), "rb") as f:
            raw = f.read()
        text = raw.decode("utf-8", errors="surrogateescape").replace("\r\n", "\r").replace("\n", "\r")
        cur = []
        for seg in text.split("\r"):
            if not seg:
                continue
            if seg[:3] in ("FHS", "BHS", "BTS", "FTS"):
                continue
            if seg.startswith("MSH") and cur:
                msgs.append("\r".join(cur) + "\r")
                cur = []
            cur.append(seg)
        if cur:
            msgs.append("\r".join(cur) + "\r")
    return msgs


def run(name, parse, msgs, rounds):
    ok = []
    for m in msgs:  # warm up and find what the library accepts
        try:
            parse(m)
            ok.append(m)
        except Exception:  # noqa: BLE001 - any failure counts as a failed parse
            pass
    size = sum(len(m.encode("utf-8", errors="surrogateescape")) for m in ok)
    start = time.process_time()
    for _ in range(rounds):
        for m in ok:
            parse(m)
    elapsed = time.process_time() - start
    mbps = size * rounds / elapsed / 1e6 if elapsed > 0 else 0.0
    print(f"{name} MBps={mbps:.2f} msgs={len(ok)} failed={len(msgs) - len(ok)} bytes={size} rounds={rounds}")
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("corpus")
    args = ap.parse_args()
    msgs = load(args.corpus)

    import hl7  # Debian python3-hl7

    run("python-hl7", hl7.parse, msgs, args.rounds)

    from hl7apy.parser import parse_message

    run("hl7apy", lambda m: parse_message(m, find_groups=False), msgs, max(1, args.rounds // 10))


if __name__ == "__main__":
    main()
