"""Reads a sensor device and its latest value from Urbis's NGSI-LD API with the `ngsildclient`
package (PyPI), after publishing the reading over MQTT with `paho-mqtt` to the real Mosquitto.

It starts its own `urbis serve` (the debug binary) on a free port with the MQTT subscriber on a
topic prefix and client id of its own, registers a device type and a device through the JSON
API, publishes a reading, waits until Urbis stored it, then checks with ngsildclient:
  - Client() connects (its probe query `type=None&limit=0&count=true` answers),
  - client.get(urn:ngsi-ld:Device:<code>) returns the Device entity with its latest value,
    unitCode, observedAt and location,
  - client.query(type="Device", q="value>40") finds it, and a point query near it too.

Usage: python3 .ci/ngsild-client.py [--bin PATH]
Needs ngsildclient, paho-mqtt and Mosquitto at 127.0.0.1:1883. Prints "N passed, M failed";
exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

import paho.mqtt.client as mqtt
import requests
from ngsildclient import Client

ROOT = pathlib.Path(__file__).resolve().parent.parent
PASSWORD = "ngsild-client-test-1"
RESULTS: list[tuple[str, bool]] = []


def check(name: str, ok: bool, detail: str = "") -> None:
    RESULTS.append((name, bool(ok)))
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f": {detail}"), flush=True)


class Bearer(requests.auth.AuthBase):
    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


def api(base: str, method: str, path: str, token: str | None = None, body: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def publish(topic: str, payload: str, client_id: str) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
    client.connect("127.0.0.1", 1883)
    client.loop_start()
    info = client.publish(topic, payload, qos=1)
    info.wait_for_publish(10)
    client.disconnect()
    client.loop_stop()


def forget_session(client_id: str) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
    client.connect("127.0.0.1", 1883)
    client.disconnect()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=str(ROOT / "target" / "debug" / "urbis"))
    args = parser.parse_args()
    suffix = f"{os.getpid()}-{int(time.time())}"
    client_id, prefix = f"urbis-ngsild-ci-{suffix}", f"ci-ngsild/{suffix}"
    work = tempfile.mkdtemp()
    process = subprocess.Popen(
        [args.bin, "serve", "--db", f"{work}/ngsild.sqlite", "--listen", "127.0.0.1:0",
         "--admin-password", PASSWORD, "--mqtt-url", "mqtt://127.0.0.1:1883",
         "--mqtt-client-id", client_id, "--mqtt-topic-prefix", prefix, "--skip-integrity-check"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        base = None
        deadline = time.time() + 60
        while time.time() < deadline and base is None:
            line = process.stdout.readline()
            found = re.match(r"listening on (http://\S+)", line or "")
            if found:
                base = found.group(1)
        if base is None:
            check("urbis serve starts", False, "no listening line")
            return 1
        token = api(base, "POST", "/api/v1/auth/login", body={"username": "admin", "password": PASSWORD})["token"]
        api(base, "PUT", "/api/v1/sensors/types/pm25", token,
            {"code": "pm25", "name": "PM2.5", "unit": "ug/m3", "rules": {"high": 75.0, "hysteresis": 10.0}})
        api(base, "POST", "/api/v1/sensors/devices", token,
            {"devices": [{"code": "dongsi", "type": "pm25", "name": "东四", "lat": 39.929, "lon": 116.417}]})
        # The subscription is in place once Urbis dead-letters a probe for an unknown device.
        stored = False
        deadline = time.time() + 30
        while time.time() < deadline and not stored:
            publish(f"{prefix}/devices/probe/readings", '{"v": 1}', f"{client_id}-pub")
            time.sleep(0.3)
            stored = any(d["reason"] == "unknown_device"
                         for d in api(base, "GET", "/api/v1/sensors/dead-letters", token))
        check("urbis subscribes to mosquitto", stored)
        publish(f"{prefix}/devices/dongsi/readings", json.dumps({"v": 42.5, "u": "ug/m3"}), f"{client_id}-pub")
        deadline = time.time() + 30
        while time.time() < deadline:
            if api(base, "GET", "/api/v1/sensors/devices/dongsi", token).get("last_value") == 42.5:
                break
            time.sleep(0.2)

        port = int(base.rsplit(":", 1)[1])
        client = Client(hostname="127.0.0.1", port=port, custom_auth=Bearer(token), verbose=False)
        entity = client.get("urn:ngsi-ld:Device:dongsi")
        check("ngsildclient reads the device entity", entity.id == "urn:ngsi-ld:Device:dongsi" and entity.type == "Device",
              str(entity.to_dict()))
        value = entity.to_dict().get("value", {})
        check("the entity carries the latest value", value.get("value") == 42.5 and value.get("unitCode") == "ug/m3"
              and "observedAt" in value, json.dumps(value))
        check("the entity has its location",
              entity.to_dict()["location"]["value"]["coordinates"] == [116.417, 39.929])
        found = client.query(type="Device", q="value>40")
        check("a q query finds it", [e.id for e in found] == ["urn:ngsi-ld:Device:dongsi"], str(found))
        # ngsildclient sends geo-queries in an older parameter; the standard ones go over requests.
        near = requests.get(f"{base}/ngsi-ld/v1/entities", auth=Bearer(token), timeout=10, params={
            "type": "Device", "georel": "near;maxDistance==500", "geometry": "Point",
            "coordinates": "[116.418,39.929]"}).json()
        far = requests.get(f"{base}/ngsi-ld/v1/entities", auth=Bearer(token), timeout=10, params={
            "type": "Device", "georel": "near;maxDistance==500", "geometry": "Point",
            "coordinates": "[116.5,39.9]"}).json()
        check("a geo query near it finds it, one far away does not",
              [e["id"] for e in near] == ["urn:ngsi-ld:Device:dongsi"] and far == [], f"{near} {far}")
        client.close()
    except Exception as error:  # noqa: BLE001 - reported as a failed check
        check("ngsild client run", False, repr(error))
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        forget_session(client_id)
    failed = sum(1 for _, ok in RESULTS if not ok)
    print(f"{len(RESULTS) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
