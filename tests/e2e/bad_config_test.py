"""A configuration with several mistakes: parleyd reports every one with file:line:col and
exits non-zero, both with --check-config and when asked to run with it. The example config
passes --check-config."""

import os
import subprocess
import tempfile

import harness

BAD = """[server]
hosts = ["localhost"]
io_thread = 2

[c2s]
port = 99999
tls = "sometimes"

[http]
port = "eighty"

[nonsense]
x = 1
"""


def scenario():
    d = tempfile.mkdtemp(prefix="parley-badcfg-")
    path = os.path.join(d, "bad.toml")
    with open(path, "w") as f:
        f.write(BAD)
    for args in (["--check-config", path], ["--config", path]):
        r = subprocess.run([harness.PARLEYD, *args], capture_output=True, text=True, timeout=30)
        assert r.returncode != 0, f"{args}: exit code 0 for a bad config"
        err = r.stderr
        for pos in (f"{path}:3:1:", f"{path}:6:8:", f"{path}:7:7:", f"{path}:10:8:", f"{path}:12:"):
            assert pos in err, f"{args}: no error at {pos} in:\n{err}"
    example = os.path.join(os.environ["PARLEY_SOURCE_DIR"], "config", "parley.example.toml")
    r = subprocess.run([harness.PARLEYD, "--check-config", example], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr


if __name__ == "__main__":
    harness.run(scenario)
