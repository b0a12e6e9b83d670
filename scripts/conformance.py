"""Runs two independent SCIM conformance suites against a live dirsync, as a user would:
scim2-tester (PyPI `scim2-tester`) and scim-sanity (PyPI `scim-sanity`, `probe` in its default
strict mode). Nothing is configured for the checkers but the Tenant URL and the token.

Usage: conformance.py <tenant SCIM base URL> <token> [label]
Prints each suite's counts and exits non-zero when a check fails that is not listed in KNOWN
below. Each KNOWN entry names one check and the RFC section that makes our answer correct;
the README's "Conformance" section lists the same entries.
"""

import json
import os
import subprocess
import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

# (suite, resource type, check, text in the failure's reason, why our answer is correct)
KNOWN: list[tuple[str, str, str, str, str]] = [
    (
        "scim2-tester",
        "Group",
        "check_add_attribute",
        "Attribute 'members'",
        "RFC 7643 §2.4: display is READ-ONLY (so advertised in /Schemas); the server fills in "
        "the member's current displayName or userName, where the checker expects the absent "
        "value it sent",
    ),
    (
        "scim2-tester",
        "Group",
        "check_replace_attribute",
        "Attribute 'members'",
        "RFC 7643 §2.4: as above, members[].display is read-only and derived from the member",
    ),
    (
        "scim-sanity",
        "Group",
        "PATCH /Groups/{id}",
        "got 204",
        "RFC 7644 §3.5.2: a PATCH may answer 204 No Content; a Group PATCH does, so a PATCH "
        "to a 100,000-member group never serialises its members",
    ),
    (
        "scim-sanity",
        "Group",
        "PATCH /Groups/{id} remove members",
        "got 204",
        "RFC 7644 §3.5.2: 204 No Content, as above",
    ),
    (
        "scim-sanity",
        "Group",
        "PATCH /Groups/{id} add member",
        "got 400",
        "RFC 7643 §4.2 / RFC 7644 §3.12: members[].value is the id of a User or Group; "
        '"fake-member-id" names none, so 400 invalidValue (the membership would grant nothing '
        "and no role or license mapping could resolve it)",
    ),
]


def known(suite: str, resource: str, title: str, reason: str) -> str | None:
    for s, r, t, text, why in KNOWN:
        if s == suite and r == resource and t == title and text in reason:
            return why
    return None


def scim2_tester(base_url: str, token: str) -> tuple[int, int, list[str]]:
    """(checks, failed, unexpected failures) of scim2-tester's full run."""
    http = Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    results = check_server(SyncSCIMClient(http))
    failed, unexpected = 0, []
    for r in results:
        line = f"  {r.status.name:10} {r.resource_type or '-':6} {r.title}"
        if r.status in (Status.ERROR, Status.CRITICAL, Status.DEVIATION):
            line += f"\n             reason: {r.reason}"
        print(line)
        if r.status in (Status.ERROR, Status.CRITICAL):
            failed += 1
            why = known("scim2-tester", r.resource_type or "", r.title, r.reason or "")
            if why:
                print(f"             known: {why}")
            else:
                unexpected.append(f"scim2-tester {r.resource_type} {r.title}: {r.reason}")
    return len(results), failed, unexpected


def scim_sanity(base_url: str, token: str) -> tuple[int, int, list[str]]:
    """(checks run, failed, unexpected failures) of `scim-sanity probe` (skips not counted)."""
    exe = os.path.join(os.path.dirname(sys.executable), "scim-sanity")
    run = subprocess.run(
        [exe, "probe", base_url, "--token", token, "--i-accept-side-effects", "--json-output"],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        return 0, 1, [f"scim-sanity did not report: {run.stdout[-2000:]} {run.stderr[-2000:]}"]
    failed, unexpected, ran = 0, [], 0
    for r in report["results"]:
        status = r["status"]
        if status == "skip":
            continue
        ran += 1
        resource = "Group" if "/Groups" in r["name"] else "User" if "/Users" in r["name"] else "-"
        line = f"  {status.upper():10} {resource:6} {r['name']}"
        if status not in ("pass", "warning"):
            failed += 1
            reason = r.get("message", "")
            line += f"\n             reason: {reason}"
            why = known("scim-sanity", resource, r["name"], reason)
            if why:
                line += f"\n             known: {why}"
            else:
                unexpected.append(f"scim-sanity {r['name']}: {reason}")
        print(line)
    return ran, failed, unexpected


def main() -> int:
    base_url, token = sys.argv[1], sys.argv[2]
    label = sys.argv[3] if len(sys.argv) > 3 else "dirsync"
    unexpected: list[str] = []
    summary = []
    for name, suite in (("scim2-tester", scim2_tester), ("scim-sanity", scim_sanity)):
        print(f"{name}:")
        checks, failed, bad = suite(base_url, token)
        unexpected += bad
        summary.append(
            f"{label}: {name}: {checks} checks, {checks - failed} passed, {failed} failed "
            f"({failed - len(bad)} known, {len(bad)} unexpected)"
        )
    print()
    print("\n".join(summary))
    for u in unexpected:
        print(f"UNEXPECTED {u}")
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
