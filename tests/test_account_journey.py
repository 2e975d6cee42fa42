"""The README's account walk-through, pasted into bash against a real server, as users run it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time

import pytest
from helpers import ROOT, Running


def test_readme_account_walk_through(tmp_path):
    """Nina registers with the code from the outbox, signs in, binds the lamp in stock, shares
    it with Rui, who finds the share in his message centre and switches the lamp; Nina deletes
    her account and Rui's next read answers 5041."""
    if not (shutil.which("curl") and shutil.which("sha256sum")):
        pytest.skip("curl or sha256sum is not installed")
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- account walk-through -->\s*```bash\n(.*?)```", readme, re.S).group(1)
    console = tmp_path / "console.log"
    with console.open("wb") as log:
        server = Running(log=log)
        try:
            world = f"{server.base}/s/journey{time.monotonic_ns()}"
            first = subprocess.run(["bash", "-euo", "pipefail", "-c", block], env={**os.environ, "BASE": world},
                                   capture_output=True, text=True, timeout=60)  # fmt: skip
            # Pasted a second time: it starts from the default world again and does the same.
            done = subprocess.run(["bash", "-euo", "pipefail", "-c", block], env={**os.environ, "BASE": world},
                                  capture_output=True, text=True, timeout=60)  # fmt: skip
            outbox = server.request("GET", f"/s/{world.rsplit('/', 1)[1]}/_mock/outbox")[1]["messages"]
        finally:
            server.stop()
    assert first.returncode == 0, first.stderr
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert first.stdout.splitlines()[1:] == lines[1:] or first.stdout.splitlines()[2:] == lines[2:]
    assert lines[0] == '{"code":200,"msg":"","data":null,"extMsg":null}'  # the code was sent
    assert re.fullmatch(r'\{"code":200,"msg":"","data":\{"uid":"C800001"\},"extMsg":null\}', lines[1])
    assert lines[2] == "200 LAMP00000009"  # bound by serial number
    assert lines[3].startswith("share_dv_C")  # the share code, read from Rui's message centre
    assert '"successList":[{' in lines[4] and '"failureList":[]' in lines[4]  # Rui switched it
    assert lines[5] == '{"code":200,"msg":"","data":null,"extMsg":null}'  # Nina's account is gone
    assert lines[6] == '{"code":5041,"msg":"No permission","data":null,"extMsg":null}'
    [sent] = outbox
    assert (sent["to"], sent["type"], sent["usedAt"] is not None) == ("13900000077", 3, True)
    assert f"SMS to 13900000077: code {sent['code']} (registration)" in console.read_text()
