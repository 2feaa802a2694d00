#!/usr/bin/env python3
"""Drain the queue through the served WSDL with zeep or suds: lease a
batch, complete each request (or the whole batch in one CompleteRequests
call), until nothing comes.  Prints one JSON object per completed
request.

    drain.py URL zeep|suds BATCH [LIMIT] [one|many]
"""
import base64
import hashlib
import json
import sys


def main():
    url, lib, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
    limit = int(sys.argv[4]) if len(sys.argv) > 4 else 100000
    many = len(sys.argv) > 5 and sys.argv[5] == "many"
    if not url.startswith("http://127.0.0.1:"):
        sys.exit("loopback only")
    if lib == "zeep":
        import zeep
        service = zeep.Client(url + "?wsdl").service
    else:
        import suds.client
        service = suds.client.Client(url + "?wsdl", cache=None).service

    def items(wrapper, name):
        if wrapper is None or wrapper == "":
            return []
        value = getattr(wrapper, name, None)
        if value is None:
            return []
        return value if isinstance(value, list) else [value]

    def raw_bytes(value):
        if isinstance(value, bytes):
            return value
        return base64.b64decode(value or "")

    def text(value):
        return "" if value is None else str(value)

    done = 0
    for _ in range(100000):
        if done >= limit:
            break
        got = service.GetRequests(max=batch, leaseSeconds=300)
        if got is None or got == "":
            got = []
        if not isinstance(got, list):
            got = items(got, "request")
        if not got:
            break
        if many:
            complete_all(service, got)
        for r in got:
            if not many:
                status = service.CompleteRequest(
                    id=r.id, leaseToken=r.leaseToken, outcome="accepted")
                if str(status) != "completed":
                    sys.exit("CompleteRequest %s: %s" % (r.id, status))
            print(json.dumps({
                "id": int(r.id),
                "subject": text(r.subject),
                "from": text(getattr(r, "from", None) or r["from"]),
                "body": text(r.body),
                "sha256": text(r.sha256),
                "raw_sha256": hashlib.sha256(raw_bytes(r.raw)).hexdigest(),
                "domains": [str(d) for d in items(r.domains, "domain")],
                "domainsAscii": [
                    str(d) for d in items(r.domainsAscii, "domain")],
                "form": [[text(f.name), text(f.value)]
                         for f in items(r.form, "field")],
                "state": text(r.state),
            }, ensure_ascii=False, sort_keys=True))
            done += 1
    print("# %d completed" % done, file=sys.stderr)


def complete_all(service, got):
    """One CompleteRequests call for the batch; the first item again at
    the end, with a comment, must answer "completed" again."""
    items = [{"id": r.id, "leaseToken": r.leaseToken, "outcome": "accepted"}
             for r in got]
    items.append(dict(items[0], comment="déjà vu <&>"))
    results = service.CompleteRequests(completions={"completion": items})
    if results is None or results == "":
        results = []
    if not isinstance(results, list):
        results = getattr(results, "result", None) or []
        if not isinstance(results, list):
            results = [results]
    if len(results) != len(items):
        sys.exit("CompleteRequests: %d results for %d items"
                 % (len(results), len(items)))
    for item, res in zip(items, results):
        if int(res.id) != int(item["id"]) or str(res.status) != "completed":
            sys.exit("CompleteRequests %s: %s %s"
                     % (item["id"], res.id, res.status))


main()
