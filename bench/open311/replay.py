#!/usr/bin/env python3
"""Replays the Open311 GeoReport v2 request sequence of the spec against a running Urbis.

Standard library only. Start a demo first (`urbis demo --listen 127.0.0.1:8080`), then:

    python3 bench/open311/replay.py --base http://127.0.0.1:8080 --password urbis-demo-2026

The script logs in as `admin`, registers an Open311 client, and then calls, in both formats:
discovery, service list, service definition, POST service request, token lookup, GET service
request, GET service requests (default, filtered, paged), and the error cases (bad key, unknown
service_code, missing location, unknown id, bad jurisdiction). It exits non-zero on the first
answer that is not what the spec says.
"""

import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET


def call(base, method, path, form=None, headers=None, body=None):
    data = None
    headers = dict(headers or {})
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["content-type"] = "application/x-www-form-urlencoded; charset=utf-8"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["content-type"] = "application/json"
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.headers.get("content-type", ""), response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("content-type", ""), err.read().decode()


def parse(content_type, text):
    if content_type.startswith("text/xml"):
        return ET.fromstring(text.encode())
    return json.loads(text)


def expect(label, want, response):
    status, content_type, text = response
    ok = status == want
    print(f"{'ok ' if ok else 'BAD'} {status} {label}")
    if not ok:
        print(text[:500])
        sys.exit(1)
    return parse(content_type, text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8080")
    parser.add_argument("--password", default="urbis-demo-2026")
    args = parser.parse_args()
    base, root = args.base, args.base + "/open311/v2"

    status, _, text = call(base, "POST", "/api/v1/auth/login",
                           body={"username": "admin", "password": args.password})
    if status != 200:
        sys.exit(f"login failed: {status} {text}")
    token = json.loads(text)["token"]
    status, _, text = call(base, "POST", "/api/v1/open311/clients",
                           headers={"authorization": f"Bearer {token}"}, body={"name": "replay"})
    if status != 201:
        sys.exit(f"client registration failed: {status} {text}")
    api_key = json.loads(text)["api_key"]

    for fmt in ("xml", "json"):
        def get(path):
            return call(root, "GET", path)

        expect(f"discovery.{fmt}", 200, get(f"/discovery.{fmt}"))
        services = expect(f"services.{fmt}", 200, get(f"/services.{fmt}"))
        code = services.find("service/service_code").text if fmt == "xml" else services[0]["service_code"]
        expect(f"services/{code}.{fmt}", 200, get(f"/services/{code}.{fmt}"))

        form = {"api_key": api_key, "service_code": code, "lat": "39.9087", "long": "116.3975",
                "description": "replay: 路灯不亮", "first_name": "Replay", "phone": "13800000000"}
        created = expect(f"POST requests.{fmt}", 200, call(root, "POST", f"/requests.{fmt}", form=form))
        number = created.find("request/service_request_id").text if fmt == "xml" else created[0]["service_request_id"]
        expect(f"tokens/{number}.{fmt}", 200, get(f"/tokens/{number}.{fmt}"))
        response = get(f"/requests/{number}.{fmt}?extensions=true")
        expect(f"requests/{number}.{fmt}", 200, response)
        if "13800000000" in response[2] or "Replay" in response[2]:
            sys.exit("personal data leaked")
        for query in ("", f"?service_code={code}&status=open", "?page_size=5&page=2"):
            expect(f"requests.{fmt}{query}", 200, get(f"/requests.{fmt}{query}"))

        bad_key = dict(form, api_key="nope")
        no_location = {k: v for k, v in form.items() if k not in ("lat", "long")}
        for label, response, want in [
            ("bad api_key", call(root, "POST", f"/requests.{fmt}", form=bad_key), 403),
            ("unknown service_code", call(root, "POST", f"/requests.{fmt}", form=dict(form, service_code="nope")), 404),
            ("missing location", call(root, "POST", f"/requests.{fmt}", form=no_location), 400),
            ("unknown request", get(f"/requests/0.{fmt}"), 404),
            ("bad jurisdiction", get(f"/services.{fmt}?jurisdiction_id=example.org"), 404),
            ("bad date", get(f"/requests.{fmt}?start_date=yesterday"), 400),
        ]:
            expect(f"{label} ({fmt})", want, response)
    print("replay finished")


if __name__ == "__main__":
    main()
