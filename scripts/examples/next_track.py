#!/usr/bin/env python3
"""A botify exec: recommender (docs/PROTOCOL.md): the track after the previous
one in catalog order, skipping tracks the session already played.

    botify simulate --episodes 1000 \
        --recommender "exec:cmd='python3 scripts/examples/next_track.py 50000'"
"""
import json
import sys

n_tracks = int(sys.argv[1]) if len(sys.argv) > 1 else 50000
played = {}  # user -> tracks of the user's current session

for line in sys.stdin:  # one request per line, one answer line each
    req = json.loads(line)
    user, track = req["user"], req["track"]
    if req["message"] == "last":
        played.pop(user, None)  # the session is over
        print("{}", flush=True)
        continue
    seen = played.setdefault(user, set())
    seen.add(track)
    rec = (track + 1) % n_tracks
    while rec in seen and len(seen) < n_tracks:
        rec = (rec + 1) % n_tracks
    seen.add(rec)
    print(json.dumps({"track": rec}), flush=True)  # flush: botify waits for it
