"""`make run` keeps its data across restarts, and sets aside a snapshot written under an older format
(person keys changed from HMAC-SHA256 to keyed BLAKE2b: old keys would silently never match)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import ROOT

SCRIPT = r"""
import json, socket, sys
from pathlib import Path
import boto3
from local.stack import LocalStack

def port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

state = Path(sys.argv[1])
stack = LocalStack(state, port=port())
fresh = stack.start()
bucket = fresh.buckets["FilesBucket"]
restored = stack.restore()
boto3.client("s3").put_object(Bucket=bucket, Key="keep/me.txt", Body=b"kept")
stack.stop()
print(json.dumps({"bucket": bucket, "restored_on_first_start": restored,
                  "format": (state / "FORMAT").read_text()}))
"""

AGAIN = r"""
import json, socket, sys
from pathlib import Path
import boto3
from local.stack import LocalStack

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    free = s.getsockname()[1]
stack = LocalStack(Path(sys.argv[1]), port=free)
resources = stack.start()
keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=resources.buckets["FilesBucket"]).get("Contents", [])]
stack._server.stop()
print(json.dumps({"keys": keys}))
"""


def run(script: str, state) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT")}
    done = subprocess.run([sys.executable, "-c", script, str(state)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_snapshots_round_trip_and_an_old_format_is_set_aside(tmp_path):
    from local.stack import STATE_FORMAT

    state = tmp_path / "state"
    first = run(SCRIPT, state)
    assert first["restored_on_first_start"] is False and first["format"] == STATE_FORMAT
    assert run(AGAIN, state)["keys"] == ["keep/me.txt"]

    (state / "FORMAT").write_text("1")
    assert run(AGAIN, state)["keys"] == []  # not misread: started empty (make run then seeds the demo)
    assert (tmp_path / "state.v1" / "tables.json").exists()  # and the old data is kept aside, not deleted
