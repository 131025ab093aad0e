#!/usr/bin/env python3
"""The plain script modq's Ozone bulk take down is set beside (benches/ozone.rs): the same
calls a moderator's own script would make, one after another, with the standard library
only. Logs in on the PDS, then for each `URI CID` line of the file named by argv[1] sends
tools.ozone.moderation.emitEvent #modEventTakedown through the PDS proxy. Prints
`SCRIPT <seconds> <sent>` for the emitEvent loop alone (the login is not timed).

Environment: OZONE_PDS_URL, OZONE_DID, OZONE_MODERATOR_HANDLE, OZONE_MODERATOR_PASSWORD
(as scripts/platforms/ozone.sh prints them)."""
import json
import os
import sys
import time
import urllib.request


def call(url, body, headers):
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", **headers},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)


def main():
    pds = os.environ["OZONE_PDS_URL"].rstrip("/")
    session = call(
        f"{pds}/xrpc/com.atproto.server.createSession",
        {
            "identifier": os.environ["OZONE_MODERATOR_HANDLE"],
            "password": os.environ["OZONE_MODERATOR_PASSWORD"],
        },
        {},
    )
    headers = {
        "authorization": f"Bearer {session['accessJwt']}",
        "atproto-proxy": f"{os.environ['OZONE_DID']}#atproto_labeler",
    }
    with open(sys.argv[1]) as f:
        refs = [line.split() for line in f if line.strip()]
    started = time.monotonic()
    for n, (uri, cid) in enumerate(refs):
        call(
            f"{pds}/xrpc/tools.ozone.moderation.emitEvent",
            {
                "event": {"$type": "tools.ozone.moderation.defs#modEventTakedown"},
                "subject": {"$type": "com.atproto.repo.strongRef", "uri": uri, "cid": cid},
                "createdBy": session["did"],
                "externalId": f"plain-script-{started}-{n}",
            },
            headers,
        )
    print(f"SCRIPT {time.monotonic() - started:.3f} {len(refs)}")


if __name__ == "__main__":
    main()
