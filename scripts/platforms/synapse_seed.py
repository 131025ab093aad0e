#!/usr/bin/env python3
"""Seed a fresh Synapse with users, a room, messages and reports, all through its own APIs.

Called by synapse.sh after the server is healthy. Users are registered with the shared-secret
admin API (the only registration this homeserver allows); everything else goes through the
client API a Matrix user's app would call, so the reports are exactly what a moderator would
find in a real queue. Prints KEY=VALUE lines on stdout; standard library only.
"""

import argparse
import hashlib
import hmac
import json
import secrets
import sys
import urllib.error
import urllib.parse
import urllib.request

# Shown raw, this would clear a terminal, retitle its window, hide text and reverse what
# follows it: the moderator's screen must show it inert.
HOSTILE_TEXT = (
    "totally normal offer \x1b[2J\x1b[H\x1b]0;owned\x07"
    "\x1b[8mhidden\x1b[0m \u202egnp.exe\u202c click \u200b\u2066here\u2069 \x00\x7f"
)


class Api:
    def __init__(self, base):
        self.base = base.rstrip("/")

    def call(self, method, path, body=None, token=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as err:
            detail = err.read().decode("utf-8", "replace")
            sys.exit(f"synapse_seed.py: {method} {path} answered {err.code}: {detail}")


def q(part):
    """Percent-encode one path segment (room and event ids carry !, $, @ and :)."""
    return urllib.parse.quote(part, safe="")


def register(api, secret, user, password, admin):
    nonce = api.call("GET", "/_synapse/admin/v1/register")["nonce"]
    mac = hmac.new(secret.encode(), digestmod=hashlib.sha1)
    mac.update(b"\x00".join([nonce.encode(), user.encode(), password.encode(),
                             b"admin" if admin else b"notadmin"]))
    answer = api.call("POST", "/_synapse/admin/v1/register", {
        "nonce": nonce, "username": user, "password": password,
        "admin": admin, "mac": mac.hexdigest(),
    })
    return answer["user_id"], answer["access_token"]


def send(api, token, room, text):
    txn = secrets.token_hex(8)
    path = f"/_matrix/client/v3/rooms/{q(room)}/send/m.room.message/{txn}"
    return api.call("PUT", path, {"msgtype": "m.text", "body": text}, token)["event_id"]


def report(api, token, room, event, reason, score=None):
    body = {"reason": reason}
    if score is not None:
        body["score"] = score
    api.call("POST", f"/_matrix/client/v3/rooms/{q(room)}/report/{q(event)}", body, token)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--server-name", required=True)
    parser.add_argument("--shared-secret-file", required=True)
    args = parser.parse_args()
    with open(args.shared_secret_file, encoding="utf-8") as f:
        secret = f.read().strip()
    api = Api(args.url)

    passwords = {name: secrets.token_urlsafe(18) for name in ("modq-admin", "alice", "bob", "mallory")}
    admin_id, admin_token = register(api, secret, "modq-admin", passwords["modq-admin"], True)
    alice_id, alice_token = register(api, secret, "alice", passwords["alice"], False)
    bob_id, bob_token = register(api, secret, "bob", passwords["bob"], False)
    mallory_id, mallory_token = register(api, secret, "mallory", passwords["mallory"], False)

    room = api.call("POST", "/_matrix/client/v3/createRoom", {
        "preset": "public_chat", "name": "Town square", "room_alias_name": "town-square",
        "topic": "General chat",
    }, alice_token)["room_id"]
    for token in (bob_token, mallory_token):
        api.call("POST", f"/_matrix/client/v3/rooms/{q(room)}/join", {}, token)

    clean = send(api, alice_token, room, "Morning all! Coffee meetup at 10?")
    send(api, bob_token, room, "Count me in.")
    spam = send(api, mallory_token, room, "CHEAP FOLLOWERS!!! 10k for $5, DM me now")
    abuse = send(api, mallory_token, room, "@bob nobody wants you here, log off forever")
    hostile = send(api, mallory_token, room, HOSTILE_TEXT)
    send(api, alice_token, room, "Please keep it civil, everyone.")

    # Two reporters on the spam (the queue groups by event), one each on the rest.
    report(api, alice_token, room, spam, "spam: selling followers", -100)
    report(api, bob_token, room, spam, "Spam again")
    report(api, bob_token, room, abuse, "harassment aimed at me", -80)
    report(api, alice_token, room, hostile, "weird link, looks like malware \u202e and an escape \x1b[31m")
    api.call("POST", f"/_matrix/client/v3/users/{q(mallory_id)}/report",
             {"reason": "keeps posting spam and abuse in Town square"}, alice_token)

    out = {
        "SYNAPSE_URL": args.url,
        "SYNAPSE_SERVER_NAME": args.server_name,
        "SYNAPSE_ADMIN_USER": admin_id,
        "SYNAPSE_ADMIN_TOKEN": admin_token,
        "SYNAPSE_ADMIN_PASSWORD": passwords["modq-admin"],
        "SYNAPSE_REPORTER_USER": alice_id,
        "SYNAPSE_REPORTER_TOKEN": alice_token,
        "SYNAPSE_SECOND_REPORTER_USER": bob_id,
        "SYNAPSE_SECOND_REPORTER_TOKEN": bob_token,
        "SYNAPSE_OFFENDER_USER": mallory_id,
        "SYNAPSE_OFFENDER_TOKEN": mallory_token,
        "SYNAPSE_ROOM_ID": room,
        "SYNAPSE_REPORTED_EVENT_IDS": ",".join([spam, abuse, hostile]),
        "SYNAPSE_SPAM_EVENT_ID": spam,
        "SYNAPSE_ABUSE_EVENT_ID": abuse,
        "SYNAPSE_HOSTILE_EVENT_ID": hostile,
        "SYNAPSE_UNREPORTED_EVENT_ID": clean,
        "SYNAPSE_EVENT_REPORTS": "4",
        "SYNAPSE_USER_REPORTS": "1",
    }
    for key, value in out.items():
        print(f"{key}={value}")


if __name__ == "__main__":
    main()
