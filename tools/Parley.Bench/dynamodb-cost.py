#!/usr/bin/env python3
"""What Parley's operations cost on DynamoDB, in capacity units, measured from a running server.

The server counts the capacity every DynamoDB request reports (ReturnConsumedCapacity) and serves
the totals on /metrics (parley_dynamodb_read_units, parley_dynamodb_write_units). This script drives
each operation many times over the REST API and divides the change of those totals by the count.
run-dynamodb-benchmarks.sh cost starts dynalite and a server and runs it; it prints a Markdown table.

    dynamodb-cost.py http://127.0.0.1:18301 [--group 1000] [--repeat 50]
"""
import json
import time
import sys
import urllib.request
import uuid

WRITE_PRICE = 1.25  # dollars per million write request units, on demand
READ_PRICE = 0.25   # dollars per million read request units, on demand


def call(base, method, path, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(request, timeout=60) as response:
        text = response.read().decode()
        return json.loads(text) if text else None


def units(base):
    """(read, write) units the server has consumed so far."""
    # The metrics endpoint serves the same scrape for 300 ms: wait past it so every read is fresh.
    time.sleep(0.4)
    with urllib.request.urlopen(base + "/metrics", timeout=30) as response:
        text = response.read().decode()
    totals = {"read": 0.0, "write": 0.0}
    for line in text.splitlines():
        for kind in totals:
            if line.startswith(f"parley_dynamodb_{kind}_units"):
                totals[kind] += float(line.rsplit(" ", 1)[1])
    return totals["read"], totals["write"]


def user(base, name):
    email = f"{uuid.uuid4().hex[:12]}@cost.example"
    call(base, "POST", "/auth/register", {"email": email, "password": "correct horse battery", "name": name})
    login = call(base, "POST", "/auth/login", {"email": email, "password": "correct horse battery"})
    return {"id": login["user"]["id"], "token": login["accessToken"]}


def measure(base, repeat, action):
    """Average (read, write) units of one run of action over repeat runs."""
    read0, write0 = units(base)
    for i in range(repeat):
        action(i)
    read1, write1 = units(base)
    return (read1 - read0) / repeat, (write1 - write0) / repeat


def main():
    args = sys.argv[1:]
    if not args or args[0] in ("-h", "--help"):
        print(__doc__)
        return 2
    base = args[0].rstrip("/")
    group_size = int(args[args.index("--group") + 1]) if "--group" in args else 1000
    repeat = int(args[args.index("--repeat") + 1]) if "--repeat" in args else 50

    ann, bob = user(base, "Ann"), user(base, "Bob")
    direct = call(base, "POST", "/chats", {"participantId": bob["id"]}, ann["token"])["id"]
    members = [user(base, f"Member {i}") for i in range(group_size - 1)]
    group = call(base, "POST", "/groups", {"name": "Cost", "memberIds": [m["id"] for m in members]}, ann["token"])["id"]
    rows = []

    def send(chat, client_id=True):
        def run(i):
            body = {"content": f"message {i} " + "x" * 60}
            if client_id:
                body["clientMessageId"] = uuid.uuid4().hex
            call(base, "POST", f"/chats/{chat}/messages", body, ann["token"])
        return run

    rows.append(("1:1 send (with clientMessageId)", 1, *measure(base, repeat, send(direct))))
    rows.append(("1:1 send (no clientMessageId)", 1, *measure(base, repeat, send(direct, client_id=False))))
    rows.append((f"send into a group of {group_size}", group_size - 1, *measure(base, repeat, send(group))))

    # A read mark alone: each message is sent first (its cost measured apart and taken off).
    send_read, send_write = measure(base, repeat, lambda i: call(base, "POST", f"/chats/{direct}/messages", {"content": f"to read {i}"}, ann["token"]))

    def send_and_read(i):
        call(base, "POST", f"/chats/{direct}/messages", {"content": f"to read {i}"}, ann["token"])
        call(base, "POST", f"/chats/{direct}/read", {}, bob["token"])
    both_read, both_write = measure(base, repeat, send_and_read)
    rows.append(("read mark (covering 1 message)", 0, both_read - send_read, both_write - send_write))

    for i in range(50):
        call(base, "POST", f"/chats/{direct}/messages", {"content": f"unread {i}"}, ann["token"])
    rows.append(("read mark (covering 50 messages)", 0, *measure(base, 1, lambda i: call(base, "POST", f"/chats/{direct}/read", {}, bob["token"]))))
    rows.append(("history page (50 messages)", 0, *measure(base, repeat, lambda i: call(base, "GET", f"/chats/{direct}/messages?limit=50", token=bob["token"]))))
    cursor = call(base, "GET", "/sync", token=bob["token"])["cursor"]
    for i in range(100):
        call(base, "POST", f"/chats/{direct}/messages", {"content": f"missed {i}"}, ann["token"])
    rows.append(("sync page (100 events, 2 chats)", 0, *measure(base, repeat, lambda i: call(base, "GET", f"/sync?since={cursor}&limit=100", token=bob["token"]))))

    def send_and_deliver(i):
        sent = call(base, "POST", f"/chats/{direct}/messages", {"content": f"to deliver {i}"}, ann["token"])
        call(base, "PUT", f"/messages/{sent['id']}/status", {"status": "delivered"}, bob["token"])
    delivered_read, delivered_write = measure(base, repeat, send_and_deliver)
    rows.append(("delivered mark (covering 1 message)", 0, delivered_read - send_read, delivered_write - send_write))

    # A 1:1 message's whole life: sent, delivered, read.
    def lifecycle(client_id):
        def run(i):
            body = {"content": f"lifecycle {i} " + "x" * 60}
            if client_id:
                body["clientMessageId"] = uuid.uuid4().hex
            sent = call(base, "POST", f"/chats/{direct}/messages", body, ann["token"])
            call(base, "PUT", f"/messages/{sent['id']}/status", {"status": "delivered"}, bob["token"])
            call(base, "POST", f"/chats/{direct}/read", {}, bob["token"])
        return run
    rows.append(("1:1 message sent, delivered and read", 1, *measure(base, repeat, lifecycle(False))))
    rows.append(("the same, sent with a clientMessageId", 1, *measure(base, repeat, lifecycle(True))))

    # A read mark in the group covering one message from each of three senders (sends not counted).
    reader, senders = members[0], members[1:4]
    sender_cursor = call(base, "GET", "/sync", token=senders[0]["token"])["cursor"]
    group_read, group_write = 0.0, 0.0
    rounds = 10
    for i in range(rounds):
        for sender in senders:
            call(base, "POST", f"/chats/{group}/messages", {"content": f"for the group {i}"}, sender["token"])
        r, w = measure(base, 1, lambda _: call(base, "POST", f"/chats/{group}/read", {}, reader["token"]))
        group_read, group_write = group_read + r / rounds, group_write + w / rounds
    rows.append(("read mark in the group (3 messages of 3 senders)", 0, group_read, group_write))
    rows.append(("sync page of one of those senders (30 messages, 10 statuses)", 0,
                 *measure(base, repeat, lambda i: call(base, "GET", f"/sync?since={sender_cursor}&limit=100", token=senders[0]["token"]))))

    print("| operation | read units | write units | deliveries | $ per million deliveries |")
    print("|---|---:|---:|---:|---:|")
    for name, deliveries, read, write in rows:
        dollars = (write * WRITE_PRICE + read * READ_PRICE) / deliveries if deliveries else None
        print(f"| {name} | {read:.2f} | {write:.2f} | {deliveries or ''} | {'' if dollars is None else f'{dollars:.3f}'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
