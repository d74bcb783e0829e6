#!/usr/bin/env python3
"""Reads the open data of a fresh `urbis demo` with the real CKAN client, `ckanapi` (PyPI), the
way a portal harvester or a data journalist would: package_list, organization_list,
package_show, resource_show, package_search (with paging), and datastore_search over every
record of every dataset (paged, with filters). Then it checks what came back against the demo's
own case records, read as the admin through the native API:

  - no reporter name, no phone number, no ID-card number anywhere in the open data;
  - no case's exact coordinate (its own point, to 5 decimals) in any record;
  - no cell below k: every count is at least k, and every published record shares its
    (month, category, area) with at least k - 1 others.

Usage: python3 .ci/ckan-client.py [--bin PATH]   (default: builds and uses target/debug/urbis)
Needs Python 3 with `ckanapi` and `requests`. Prints "N passed, M failed"; exits 1 on failure.
"""

from __future__ import annotations

import collections
import json
import re
import sys

import ckanapi
import requests

import demo_run
from demo_run import check

DEMO_PASSWORD = "urbis-demo-2026"
K = 5
PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
ID_CARD = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
def private_facts(base: str) -> tuple[set[str], set[str], set[tuple[float, float]]]:
    """Reporter names and phones and exact points of every demo case, read as the admin."""
    token = requests.post(base + "/api/v1/auth/login",
                          json={"username": "admin", "password": DEMO_PASSWORD}, timeout=30).json()["token"]
    names, phones, points = set(), set(), set()
    before = None
    while True:
        url = base + "/api/v1/cases?limit=500" + (f"&before_id={before}" if before else "")
        page = requests.get(url, headers={"authorization": f"Bearer {token}"}, timeout=60).json()
        if not page:
            break
        for case in page:
            if case.get("reporter_name"):
                names.add(case["reporter_name"])
            if case.get("reporter_phone"):
                phones.add(case["reporter_phone"])
            if case.get("lat") is not None and case.get("lon") is not None:
                points.add((round(case["lat"], 5), round(case["lon"], 5)))
        before = min(c["id"] for c in page)
    return names, phones, points


def all_records(ckan: ckanapi.RemoteCKAN, resource_id: str, page_size: int = 37) -> tuple[list[dict], int]:
    records, offset, total = [], 0, None
    while True:
        result = ckan.action.datastore_search(resource_id=resource_id, limit=page_size, offset=offset)
        total = result["total"]
        records.extend(result["records"])
        offset += page_size
        if offset >= total or not result["records"]:
            return records, total


def run(base: str) -> None:
    ckan = ckanapi.RemoteCKAN(base, user_agent="urbis-ci-ckan-client")
    names = ckan.action.package_list()
    check("package_list names the three open datasets",
          set(names) == {"case-counts", "case-records", "grids"}, repr(names))
    orgs = ckan.action.organization_list()
    check("organization_list", orgs == ["city-platform"], repr(orgs))
    org = ckan.action.organization_show(id="city-platform", include_datasets=True)
    check("organization_show with datasets", len(org.get("packages", [])) == len(names), repr(org)[:300])
    texts: list[str] = []
    resources = {}
    for name in names:
        package = ckan.action.package_show(id=name)
        ok = package["name"] == name and package["resources"] and package["version"].startswith("v")
        check(f"package_show {name}", ok, json.dumps(package, ensure_ascii=False)[:300])
        resource = ckan.action.resource_show(id=package["resources"][0]["id"])
        check(f"resource_show {name}", resource["datastore_active"] and resource["hash"].startswith("sha256:"),
              repr(resource))
        resources[name] = resource["id"]
        texts.append(json.dumps(package, ensure_ascii=False))
    found = ckan.action.package_search(q="案件", rows=1)
    check("package_search counts every match and pages by rows",
          found["count"] == 2 and len(found["results"]) == 1, repr(found)[:300])
    second = ckan.action.package_search(q="案件", rows=1, start=1)
    check("package_search start", second["results"][0]["name"] != found["results"][0]["name"])
    try:
        ckan.action.package_show(id="no-such-dataset")
        check("package_show of a missing dataset raises NotFound", False)
    except ckanapi.NotFound:
        check("package_show of a missing dataset raises NotFound", True)
    try:
        ckan.action.datastore_search(resource_id=resources["case-records"], filters={"reporter_phone": "1"})
        check("datastore_search on a field that is not published raises ValidationError", False)
    except ckanapi.ValidationError:
        check("datastore_search on a field that is not published raises ValidationError", True)

    tables = {}
    for name, resource_id in resources.items():
        records, total = all_records(ckan, resource_id)
        check(f"datastore_search pages through {name}", len(records) == total and total > 0,
              f"{len(records)} of {total}")
        ids = [r["_id"] for r in records]
        check(f"datastore_search pages of {name} do not overlap", len(set(ids)) == len(ids))
        tables[name] = records
        texts.append(json.dumps(records, ensure_ascii=False))
    some = tables["case-records"][0]
    filtered = ckan.action.datastore_search(resource_id=resources["case-records"],
                                            filters={"category_code": some["category_code"]}, limit=1000)
    expected = sum(1 for r in tables["case-records"] if r["category_code"] == some["category_code"])
    check("datastore_search filters", filtered["total"] == expected
          and all(r["category_code"] == some["category_code"] for r in filtered["records"]),
          f"{filtered['total']} vs {expected}")
    for ext in ("csv", "xlsx"):
        res = requests.get(f"{base}/api/v1/open-data/download/case-records.{ext}", timeout=60)
        check(f"{ext} download", res.status_code == 200 and len(res.content) > 100, str(res.status_code))
        if ext == "csv":
            texts.append(res.content.decode("utf-8"))
    dcat = requests.get(f"{base}/catalog.jsonld", timeout=60).json()
    check("DCAT catalogue lists the datasets", len(dcat.get("dcat:dataset", [])) == len(names))

    # What must not be there.
    blob = "\n".join(texts)
    reporter_names, phones, points = private_facts(base)
    check("the demo has private facts to look for", len(phones) > 50 and len(points) > 50,
          f"{len(phones)} phones, {len(points)} points")
    leaked_names = [n for n in reporter_names if n in blob]
    check("no reporter name", not leaked_names, repr(leaked_names[:5]))
    check("no phone number", not PHONE.findall(blob) and not [p for p in phones if p in blob],
          repr(PHONE.findall(blob)[:5]))
    check("no ID-card number", not ID_CARD.findall(blob), repr(ID_CARD.findall(blob)[:5]))
    published_points = {(round(r["center_lat"], 5), round(r["center_lon"], 5))
                        for r in tables["case-records"] if r.get("center_lat") is not None}
    exact = published_points & points
    check("no exact coordinate of a case", not exact, repr(sorted(exact)[:5]))
    small = [r for r in tables["case-counts"] if r["reported"] < K]
    check(f"no count cell below k={K}", not small, repr(small[:3]))
    groups = collections.Counter((r["month"], r["category_code"], r["area_code"]) for r in tables["case-records"])
    small_groups = {g: n for g, n in groups.items() if n < K}
    check(f"no record group below k={K}", not small_groups, repr(list(small_groups.items())[:3]))
    print(f"case-records: {len(tables['case-records'])} records in {len(groups)} groups; "
          f"case-counts: {len(tables['case-counts'])} cells; grids: {len(tables['grids'])}")


def main() -> int:
    return demo_run.main("ckan-client", __doc__.split("\n\n")[0], "urbis-ckan-", run)


if __name__ == "__main__":
    sys.exit(main())
