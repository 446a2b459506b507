"""The same ASL in server mode: a ThreadedMotoServer on loopback with execution turned on
through ``/moto-api/config`` (what the local runtime does)."""

from __future__ import annotations

import boto3
from moto.server import ThreadedMotoServer

from smgitops.errors import TransientError
from smgitops.local.emulator import stepfunctions as local_sfn
from tests.template.rollout_harness import REGION, Runner, ScriptedTick, step


def test_server_mode_runs_the_same_definition() -> None:
    local_sfn.install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    try:
        local_sfn.configure_server(url)
        client = boto3.client("stepfunctions", region_name=REGION, endpoint_url=url)
        tick = ScriptedTick(
            step("Progressing"), TransientError("throttled"), step("Succeeded", done=True)
        )
        result = Runner(client).run(tick)
        assert result["status"] == "SUCCEEDED"
        assert tick.kinds() == ["tick"] * 3
    finally:
        local_sfn.configure_server(url, execute=False)
        local_sfn.clear_functions()
        server.stop()
