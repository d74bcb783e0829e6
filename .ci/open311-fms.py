#!/usr/bin/env python3
"""Drives a fresh `urbis demo` the way FixMyStreet's Open311 client (perllib/Open311.pm and the
Open311::Get*/Post* scripts around it) does, and validates every JSON answer against the
GeoReport v2 JSON schemas in .ci/open311-schemas (our own files, equivalent to open311.org's
schema-validation ones, plus discovery, errors and mySociety's request_update).

FixMyStreet's calls reproduced (XML, as FixMyStreet uses it; form-encoded POSTs carrying
jurisdiction_id and api_key; multipart when it uploads photos):
  get_service_list, get_service_meta_info, send_service_request with lat/long, with
  address_string, with address_id, with a long description and with a photo upload, a bad
  api_key, get_service_requests by 150 ids (Open311::GetUpdates) and by date window
  (Open311::GetServiceRequests), get_service_request_updates (Open311::GetServiceRequestUpdates)
  and post_service_request_update (Open311::PostServiceRequestUpdates), with FixMyStreet's own
  acceptance checks on each answer (ids not empty, W3C datetimes, dates inside the window,
  statuses its map_state knows).

Usage: python3 .ci/open311-fms.py [--bin PATH]   (default: builds and uses target/debug/urbis)
Needs Python 3.11 with `requests` and `jsonschema`. Prints "N passed, M failed"; exits 1 on any
failure.
"""

from __future__ import annotations

import datetime as dt
import json
import pathlib
import re
import sys
import urllib.parse
import xml.etree.ElementTree as ET

import jsonschema
import requests

import demo_run
from demo_run import check

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / ".ci" / "open311-schemas"
DEMO_PASSWORD = "urbis-demo-2026"
# XML::Simple's ForceArray list in Open311.pm: these elements are always lists.
FORCE_ARRAY = {"service", "attribute", "value", "request", "error", "request_update", "group"}
# The states FixMyStreet's map_state turns extended statuses into (lower case, spaces).
FMS_STATES = {
    "fixed - council", "not responsible", "unable to fix", "confirmed", "closed", "investigating",
    "in progress", "action scheduled", "duplicate", "internal referral",
}

# ---------------------------------------------------------------- schemas


def format_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker()

    @checker.checks("date-time", raises=ValueError)
    def is_datetime(value: object) -> bool:
        if not isinstance(value, str):
            return True
        if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", value):
            raise ValueError(f"not an RFC 3339 date-time: {value!r}")
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return True

    @checker.checks("uri", raises=ValueError)
    def is_uri(value: object) -> bool:
        if not isinstance(value, str):
            return True
        parts = urllib.parse.urlsplit(value)
        if not parts.scheme or not (parts.netloc or parts.path) or " " in value:
            raise ValueError(f"not a URI: {value!r}")
        return True

    return checker


VALIDATORS: dict[str, jsonschema.Draft7Validator] = {}


def validator(schema: str) -> jsonschema.Draft7Validator:
    if schema not in VALIDATORS:
        with open(SCHEMAS / f"{schema}.json", encoding="utf-8") as f:
            VALIDATORS[schema] = jsonschema.Draft7Validator(json.load(f), format_checker=format_checker())
    return VALIDATORS[schema]


def validate(schema: str, document: object, name: str) -> None:
    errors = list(validator(schema).iter_errors(document))
    check(f"schema {schema}: {name}", not errors, "; ".join(e.message for e in errors[:3]))


def validate_list(schema: str, document: object, name: str) -> None:
    """A GeoReport JSON answer is a list of items, each valid against `schema`."""
    if not check(f"schema {schema}: {name} is a list", isinstance(document, list), repr(document)[:200]):
        return
    errors = [e.message for item in document for e in validator(schema).iter_errors(item)]
    check(f"schema {schema}: every item of {name} ({len(document)})", document and not errors,
          "; ".join(errors[:3]) or "empty")


# ---------------------------------------------------------------- XML as XML::Simple reads it


def xml_object(text: str | None):
    """Parses like Open311.pm's _get_xml_object: ForceArray for list elements, empty → None."""
    if text is None:
        return None
    try:
        root = ET.fromstring(text.encode("utf-8"))
    except ET.ParseError:
        return None

    def convert(el):
        children = list(el)
        if not children:
            return el.text if el.text not in (None, "") else None
        out: dict = {}
        for child in children:
            value = convert(child)
            if child.tag in FORCE_ARRAY:
                out.setdefault(child.tag, []).append(value)
            elif child.tag in out:
                if not isinstance(out[child.tag], list):
                    out[child.tag] = [out[child.tag]]
                out[child.tag].append(value)
            else:
                out[child.tag] = value
        return out

    converted = convert(root)
    return converted if isinstance(converted, dict) else {}


def same_shape(xml_text: str, json_doc: list, name: str) -> None:
    """The XML answer carries the same items and fields as its JSON twin (the spec's mapping)."""
    root = ET.fromstring(xml_text.encode("utf-8"))
    items = list(root)
    ok = len(items) == len(json_doc) and all(
        {child.tag for child in item} == set(twin) for item, twin in zip(items, json_doc)
    )
    check(f"XML and JSON answers match: {name}", ok, f"{len(items)} vs {len(json_doc)} items")


def w3c(value) -> dt.datetime | None:
    """DateTime::Format::W3CDTF->parse_datetime, strictly enough for our answers."""
    if not isinstance(value, str):
        return None
    m = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d)(\.\d+)?)?(Z|[+-]\d\d:\d\d)", value)
    if not m:
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def w3c_format(at: dt.datetime) -> str:
    """DateTime::Format::W3CDTF->format_datetime of a UTC DateTime."""
    return at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def fms_state(status: str) -> str:
    """Open311.pm's map_state with extended statuses."""
    state = status.lower().replace("_", " ")
    return {
        "fixed": "fixed - council",
        "not councils responsibility": "not responsible",
        "no further action": "unable to fix",
        "open": "confirmed",
        "closed": "closed",
    }.get(state, state)


# ---------------------------------------------------------------- the client, as Open311.pm


class Open311:
    def __init__(self, endpoint: str, jurisdiction: str, api_key: str):
        self.endpoint = endpoint
        self.jurisdiction = jurisdiction
        self.api_key = api_key
        self.success = False
        self.error = ""
        self.last_status = 0

    def _request(self, method: str, path: str, params: dict, uploads: dict | None = None):
        params = dict(params)
        if self.jurisdiction:
            params["jurisdiction_id"] = self.jurisdiction
        if method == "POST" and self.api_key:
            params["api_key"] = self.api_key
        url = self.endpoint + path
        if method == "GET":
            res = requests.get(url, params=params, timeout=300)
        elif uploads:
            fields = []
            for key, value in params.items():
                for v in value if isinstance(value, list) else [value]:
                    fields.append((key, (None, str(v).encode("utf-8"))))
            for key, (filename, content_type, content) in uploads.items():
                fields.append((key, (filename, content, content_type)))
            res = requests.post(url, files=fields, timeout=300)
        else:
            res = requests.post(url, data=params, timeout=300)
        self.last_status = res.status_code
        if 200 <= res.status_code < 300:
            self.success = True
            return res.content.decode("utf-8")
        self.success = False
        self.error = f"request failed: {res.status_code}\nerror: {self._process_error(res.text)}"
        return None

    @staticmethod
    def _process_error(text: str) -> str:
        obj = xml_object(text)
        msg = ""
        if isinstance(obj, dict) and "error" in obj:
            for e in obj["error"]:
                e = e or {}
                msg += f"{e.get('code') or '???'}: {e.get('description') or 'unknown error'}\n"
        return msg or "unknown error"

    def get_service_list(self):
        text = self._request("GET", "services.xml", {})
        return xml_object(text) if text else None

    def get_service_meta_info(self, code: str):
        return xml_object(self._request("GET", f"services/{code}.xml", {}))

    def send_service_request(self, params: dict, uploads: dict | None = None):
        text = self._request("POST", "requests.xml", params, uploads)
        if text:
            obj = xml_object(text)
            if obj:
                request = (obj.get("request") or [{}])[0] or {}
                request_id = request.get("service_request_id")
                if request_id and not isinstance(request_id, dict):
                    return request_id, request
        return 0, None

    def get_service_requests(self, args: dict):
        params = {}
        args = dict(args)
        if "report_ids" in args:
            params["service_request_id"] = ",".join(args.pop("report_ids"))
        params.update(args)
        obj = xml_object(self._request("GET", "requests.xml", params))
        return (obj or {}).get("request")

    def get_service_request_updates(self, start: str | None, end: str | None):
        params = {"api_key": self.api_key or ""}
        if start or end:
            params["start_date"] = start
            params["end_date"] = end
        obj = xml_object(self._request("GET", "servicerequestupdates.xml", params))
        return (obj or {}).get("request_update")

    def post_service_request_update(self, params: dict):
        text = self._request("POST", "servicerequestupdates.xml", params)
        if text:
            obj = xml_object(text)
            if obj:
                update = (obj.get("request_update") or [{}])[0] or {}
                update_id = update.get("update_id")
                if update_id and not isinstance(update_id, dict):
                    return update_id
        return 0


# ---------------------------------------------------------------- the server


def api(base: str, method: str, path: str, token: str | None = None, body: dict | None = None):
    headers = {"authorization": f"Bearer {token}"} if token else {}
    res = requests.request(method, base + path, json=body, headers=headers, timeout=60)
    return res.status_code, (res.json() if res.content else None)


def login(base: str, username: str) -> str:
    status, body = api(base, "POST", "/api/v1/auth/login", body={"username": username, "password": DEMO_PASSWORD})
    assert status == 200, body
    return body["token"]


# A tiny JPEG (SOI, JFIF APP0, EOI) — what FixMyStreet uploads is a JPEG from its photo store.
JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")


def fms_description(title: str, detail: str, url: str) -> str:
    """_generate_service_request_description, the non-UK branch."""
    return f"{title}\n\n{detail}\n\n{url}\n"


def run(base: str) -> None:
    endpoint = base + "/open311/v2/"
    admin = login(base, "admin")
    status, client = api(base, "POST", "/api/v1/open311/clients", admin, {"name": "FixMyStreet"})
    check("register a client key through the admin API", status == 201, f"{status} {client}")
    api_key = client["api_key"]

    # Discovery, and the jurisdiction FixMyStreet is configured with (the city's root code).
    res = requests.get(endpoint + "discovery.json", timeout=60)
    discovery = res.json()
    validate("discovery", discovery, "discovery.json")
    check("discovery url comes from --public-url", discovery["endpoints"][0]["url"] == endpoint.rstrip("/"),
          discovery["endpoints"][0]["url"])
    jurisdiction = requests.get(base + "/api/v1/locate", params={"lat": 30.6, "lon": 114.3}, timeout=60).json()["areas"][0]["code"]
    o = Open311(endpoint, jurisdiction, api_key)

    # get_service_list (Open311::PopulateServiceList).
    services = o.get_service_list()
    check("get_service_list", o.success and services and services.get("service"), o.error)
    services = services["service"]
    check("every service has a code and a name", all(s.get("service_code") and s.get("service_name") for s in services))
    check("metadata is true or false", all(s.get("metadata") in ("true", "false") for s in services))
    codes = [s["service_code"] for s in services]
    check("an 'other' service is listed", "other" in codes, codes)
    json_services = requests.get(endpoint + "services.json", params={"jurisdiction_id": jurisdiction}, timeout=60).json()
    validate_list("service", json_services, "services.json")
    same_shape(requests.get(endpoint + "services.xml", timeout=60).text, json_services, "services")
    check("XML and JSON list the same services", [s["service_code"] for s in json_services] == codes)

    # get_service_meta_info.
    code = codes[0]
    meta = o.get_service_meta_info(code)
    check("get_service_meta_info", o.success and meta and meta.get("service_code") == code, f"{o.error} {meta}")
    validate("service-definition", requests.get(endpoint + f"services/{code}.json", timeout=60).json(), f"services/{code}.json")

    # send_service_request: lat/long (used_map), with media_url and a phone and e-mail.
    point = requests.get(endpoint + "requests.json", params={"page_size": 1}, timeout=60).json()[0]
    lat, lon = point["lat"], point["long"]
    common = {"first_name": "Alex", "last_name": "Reporter", "email": "alex@example.org"}
    created: list[str] = []

    def send(name: str, params: dict, uploads: dict | None = None) -> str | None:
        request_id, answer = o.send_service_request(params, uploads)
        if check(f"send_service_request {name}", request_id and o.success, o.error):
            created.append(request_id)
            return request_id
        return None

    first = send("with lat/long", {
        **common,
        "description": fms_description("Rubbish dumped", "Bags of rubbish left by the bins for three days.",
                                       "https://fms.example/report/1"),
        "service_code": code, "lat": f"{lat:.6f}", "long": f"{lon:.6f}", "phone": "+8613812345678",
        "media_url": "https://fms.example/photo/1.full.jpeg", "attribute[fixmystreet_id]": "1",
    })
    gazetteer = requests.get(base + "/api/v1/geocode", params={"q": "幸福路", "limit": 1}, timeout=60).json()["results"][0]
    send("with address_string", {
        **common, "description": fms_description("Street light out", "The light has been out all week.",
                                                 "https://fms.example/report/2"),
        "service_code": codes[1 % len(codes)], "address_string": gazetteer["name"],
    })
    send("with address_id", {
        **common, "description": fms_description("Blocked drain", "Water pools over the pavement.",
                                                 "https://fms.example/report/3"),
        "service_code": codes[2 % len(codes)], "address_id": point["address_id"],
    })
    long_detail = "路面坑洼，车辆经过时颠簸严重。" * 500
    long_id = send("with a long description", {
        **common, "description": fms_description("Pothole", long_detail, "https://fms.example/report/4"),
        "service_code": codes[3 % len(codes)], "lat": f"{lat + 0.01:.6f}", "long": f"{lon:.6f}",
    })
    photo_id = send("with a photo upload (multipart)", {
        **common, "description": fms_description("Graffiti", "Paint on the wall of the underpass.",
                                                 "https://fms.example/report/5"),
        "service_code": codes[4 % len(codes)], "lat": f"{lat - 0.01:.6f}", "long": f"{lon:.6f}",
    }, {"photo1": ("5.0.full.jpeg", "image/jpeg", JPEG)})
    repeat_id = send("a repeat of the first report (merged by intake)", {
        **common, "description": fms_description("Rubbish dumped", "Bags of rubbish left by the bins for three days.",
                                                 "https://fms.example/report/6"),
        "service_code": code, "lat": f"{lat:.6f}", "long": f"{lon:.6f}",
    })
    check("each POST gets its own id", len(set(created)) == len(created), created)

    # POST answers in JSON validate too.
    res = requests.post(endpoint + "requests.json", data={
        "api_key": api_key, "jurisdiction_id": jurisdiction, "service_code": "other",
        "description": "Something else entirely.", "lat": f"{lat:.6f}", "long": f"{lon + 0.01:.6f}"}, timeout=60)
    validate_list("request-response", res.json(), "POST requests.json")
    created.append(res.json()[0]["service_request_id"])

    # A bad key: FixMyStreet sees a failure and an error it can read.
    bad = Open311(endpoint, jurisdiction, "not-a-key")
    request_id, _ = bad.send_service_request({**common, "description": "x", "service_code": code,
                                              "lat": f"{lat:.6f}", "long": f"{lon:.6f}"})
    check("a bad api_key is refused", request_id == 0 and bad.last_status == 403, bad.error)
    check("the refusal reads as '403: invalid_api_key: …'", "403: invalid_api_key" in bad.error, bad.error)
    res = requests.post(endpoint + "requests.json", data={"api_key": "not-a-key", "service_code": code}, timeout=60)
    validate_list("error", res.json(), "bad key, JSON")

    # Photos and long descriptions come back as the spec allows.
    if photo_id:
        req = requests.get(endpoint + f"requests/{photo_id}.json", timeout=60).json()[0]
        media = req.get("media_url") or ""
        check("the uploaded photo is the request's media_url", media.startswith(base + "/open311/v2/media/"), media)
        if media:
            got = requests.get(media, timeout=60)
            check("the media_url serves the photo", got.status_code == 200 and got.content == JPEG, got.status_code)
    if long_id:
        req = requests.get(endpoint + f"requests/{long_id}.json", timeout=60).json()[0]
        check("a long description comes back within the spec's 4,000 characters", len(req["description"]) <= 4000)
    if first:
        req = requests.get(endpoint + f"requests/{first}.json", timeout=60).json()[0]
        check("media_url is stored and returned", req["media_url"] == "https://fms.example/photo/1.full.jpeg", req["media_url"])

    # Staff work on the requests, so there is progress to fetch: register one, void another as a
    # duplicate.
    shiftlead = login(base, "shiftlead")
    status, cases = api(base, "GET", "/api/v1/cases?limit=200", shiftlead)
    by_number = {c["number"]: c["id"] for c in cases}
    if first in by_number:
        status, _ = api(base, "POST", f"/api/v1/cases/{by_number[first]}/actions", shiftlead, {"action": "register"})
        check("staff register the first request", status == 200, status)
    address_req = created[1]
    if address_req in by_number:
        status, _ = api(base, "POST", f"/api/v1/cases/{by_number[address_req]}/actions", shiftlead,
                        {"action": "void", "reason": "与已有诉求重复"})
        check("staff void the second request as a duplicate", status == 200, status)

    # get_service_requests by ids (Open311::GetUpdates sends every live report's id at once).
    listed = requests.get(endpoint + "requests.json", params={"page_size": 200}, timeout=60).json()
    ids = [r["service_request_id"] for r in listed if r["service_request_id"] != address_req]
    ids = list(dict.fromkeys([i for i in created if i != address_req] + ids))[:150]
    check("150 ids to ask for", len(ids) == 150, len(ids))
    got = o.get_service_requests({"report_ids": ids}) or []
    check("get_service_requests by 150 ids", o.success and len(got) == 150, f"{o.error} {len(got)}")
    check("every asked id answered", {r.get("service_request_id") for r in got} == set(ids))
    for r in got:
        if w3c(r.get("updated_datetime")) is None:
            check("updated_datetime parses as W3CDTF (GetUpdates' check_date)", False, r)
            break
    else:
        check("updated_datetime parses as W3CDTF (GetUpdates' check_date)", True)
    check("status_notes present for GetUpdates' description", all(r.get("status_notes") for r in got))
    res = requests.get(endpoint + "requests.json", params={"service_request_id": ",".join(ids)}, timeout=60)
    validate_list("request", res.json(), "requests.json by 150 ids")
    xml = requests.get(endpoint + "requests.xml", params={"service_request_id": ",".join(ids)}, timeout=60)
    same_shape(xml.text, res.json(), "requests by 150 ids")
    if repeat_id:
        repeat = next((r for r in res.json() if r["service_request_id"] == repeat_id), None)
        check("the merged request is its own record with a service_notice",
              repeat is not None and repeat["service_notice"], repeat)
    voided = requests.get(endpoint + f"requests/{address_req}.json", timeout=60)
    check("a voided request is left out", voided.status_code == 404, voided.status_code)
    validate_list("error", voided.json(), "unknown request")

    # get_service_requests by date window (Open311::GetServiceRequests, the last hour).
    now = dt.datetime.now(dt.timezone.utc)
    start, end = w3c_format(now - dt.timedelta(hours=1)), w3c_format(now + dt.timedelta(seconds=5))
    got = o.get_service_requests({"start_date": start, "end_date": end}) or []
    check("get_service_requests by date window", o.success and got, o.error)
    mine = [r for r in got if r.get("service_request_id") in created]
    check("the window holds the requests filed above", len(mine) >= len(created) - 1, f"{len(mine)} of {len(created)}")
    kept = 0
    for r in mine:
        updated = w3c(r.get("updated_datetime"))
        created_at = w3c(r.get("requested_datetime"))
        has_place = r.get("lat") and r.get("long")
        if updated and created_at and has_place and start <= w3c_format(updated) <= end:
            kept += 1
    check("FixMyStreet would import every one of them (id, lat, long, dates in the window)", kept == len(mine),
          f"{kept} of {len(mine)}")
    res = requests.get(endpoint + "requests.json", params={"start_date": start, "end_date": end}, timeout=60)
    validate_list("request", res.json(), "requests.json by date window")
    res = requests.get(endpoint + "requests.json", params={"start_date": now.strftime("%Y-%m-%d")}, timeout=60)
    check("a date-only start_date is accepted", res.status_code == 200, res.text[:200])

    # get_service_request_updates (Open311::GetServiceRequestUpdates, the last two hours).
    start = w3c_format(now - dt.timedelta(hours=2))
    end = w3c_format(dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=5))
    updates = o.get_service_request_updates(start, end) or []
    check("get_service_request_updates", o.success and updates, o.error)
    check("every update has an update_id", all(u.get("update_id") for u in updates))
    in_window = [u for u in updates if (t := w3c(u.get("updated_datetime"))) and start <= w3c_format(t) <= end]
    check("every update passes check_date", len(in_window) == len(updates), f"{len(in_window)} of {len(updates)}")
    states = {fms_state(u.get("status") or "") for u in updates}
    check("every status maps to a FixMyStreet state", states <= FMS_STATES, states - FMS_STATES)
    statuses = {(u["service_request_id"], u["status"]) for u in updates}
    check("the registration shows as INVESTIGATING", (first, "INVESTIGATING") in statuses, sorted(statuses)[:5])
    check("the void as a duplicate shows as DUPLICATE", (address_req, "DUPLICATE") in statuses)
    if repeat_id:
        check("the merged request follows the case's progress", (repeat_id, "INVESTIGATING") in statuses)
    res = requests.get(endpoint + "servicerequestupdates.json", params={"start_date": start, "end_date": end}, timeout=60)
    validate_list("request-update", res.json(), "servicerequestupdates.json")
    xml = requests.get(endpoint + "servicerequestupdates.xml", params={"start_date": start, "end_date": end}, timeout=60)
    same_shape(xml.text, res.json(), "servicerequestupdates")
    res = requests.get(endpoint + "servicerequestupdates.json",
                       params={"start_date": start, "end_date": end, "page_size": 2, "page": 2}, timeout=60)
    check("updates are paged", res.status_code == 200 and len(res.json()) <= 2, res.text[:200])

    # post_service_request_update (Open311::PostServiceRequestUpdates, extended statuses).
    comment = {
        "updated_datetime": w3c_format(dt.datetime.now(dt.timezone.utc)),
        "service_request_id": first, "status": "OPEN",
        "description": "Still there this morning, and the bags are split.",
        "last_name": "Reporter", "first_name": "Alex", "email": "alex@example.org", "update_id": "901",
    }
    update_id = o.post_service_request_update(comment)
    check("post_service_request_update", update_id and o.success, o.error)
    again = o.post_service_request_update(comment)
    check("a retry of the same update gets the same id", again == update_id, f"{again} {update_id}")
    fixed = o.post_service_request_update({**comment, "status": "FIXED", "update_id": "902",
                                           "description": "The reporter says it is fixed."})
    check("a status change from the client is accepted", fixed and fixed != update_id, o.error)
    res = requests.post(endpoint + "servicerequestupdates.json", data={
        "api_key": api_key, "service_request_id": "19990101000000", "status": "OPEN", "description": "x"}, timeout=60)
    check("an update on an unknown request is a 404", res.status_code == 404, res.status_code)
    validate_list("error", res.json(), "unknown request update")
    end = w3c_format(dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=5))
    updates = o.get_service_request_updates(start, end) or []
    check("the client's comment is in the public trail under its id",
          any(u.get("update_id") == update_id for u in updates))

    # Errors elsewhere keep the spec's format: unknown path, 405, 413.
    res = requests.delete(endpoint + "requests.json", timeout=60)
    check("405 in the spec's format", res.status_code == 405 and res.json()[0]["code"] == 405, res.text[:200])
    res = requests.post(endpoint + "requests.xml", data=b"x" * (200 * 1024 * 5), timeout=60)
    check("413 in the spec's format", res.status_code == 413 and xml_object(res.text).get("error"), res.text[:200])
    res = requests.get(base + "/open311/v2", timeout=60)
    check("the bare root answers in the spec's format", res.status_code == 404 and xml_object(res.text).get("error"))
    res = requests.get(endpoint + "services.json", headers={"Origin": "https://elsewhere.example"}, timeout=60)
    check("CORS lets browsers on other origins read", res.headers.get("access-control-allow-origin") == "*")
    res = requests.get(endpoint + f"tokens/{first}.json", timeout=60)
    validate_list("token", res.json(), "tokens")


def main() -> int:
    return demo_run.main("open311-fms", __doc__.split("\n\n")[0], "urbis-open311-", run)


if __name__ == "__main__":
    sys.exit(main())
