#!/usr/bin/python3
"""A Python ingester for `komposter bench`: what many cities would write first.

paho-mqtt 1.6, PyNaCl and LMDB (Debian: python3-paho-mqtt python3-nacl
python3-lmdb). It subscribes to every device's taps at QoS 1, decodes each
KMP1 frame's header (docs/PROTOCOL.md: magic, type, count, exact length,
device id matching the topic), verifies its Ed25519 signature with the
device's key, stores it once in LMDB (key: device id and batch_seq; a copy
is not stored again), commits that one frame synced, then publishes one
signed ACK per frame on .../ack whose watermark is the device's highest W
with every frame 1..W stored: the durability contract, frame by frame.

Usage: python_ingester.py HOST PORT KEYS SERVER_KEY DB_DIR
  KEYS        the bench's device keys: records of a little-endian u64 id
              and a 32-byte Ed25519 public key (bench_ideal_write_keys)
  SERVER_KEY  the server's secret key: 128 hex digits (keyfile.h), libsodium's
              64 bytes, seed then public key
Runs until killed; one line on stderr and exit 1 on a setup error.
"""
import os
import socket
import struct
import sys

import lmdb
import nacl.exceptions
import nacl.signing
import paho.mqtt.client as mqtt

HEADER = struct.Struct("<4sBBHQQqQ")  # magic type key_id count device_id batch_seq sent_at aux
MAGIC = b"KMP1"
TYPE_TAPS, TYPE_ACK = 1, 3
TAP_RECORD_SIZE = 48
SIGNATURE_SIZE = 64
RECORDS_MAX = 512
SERVER_KEY_ID = 1
KEY_RECORD = struct.Struct("<Q32s")
TAPS_FILTER = "komposter/v1/dev/+/taps"
MAP_SIZE = 1 << 30


def read_keys(path):
    with open(path, "rb") as f:
        data = f.read()
    if not data or len(data) % KEY_RECORD.size:
        raise ValueError("%s: not a file of device keys" % path)
    return {dev: nacl.signing.VerifyKey(pk) for dev, pk in KEY_RECORD.iter_unpack(data)}


def read_server_key(path):
    with open(path) as f:
        sk = bytes.fromhex(f.readline().strip())
    if len(sk) != 64:
        raise ValueError("%s: not a secret key" % path)
    key = nacl.signing.SigningKey(sk[:32])
    if bytes(key.verify_key) != sk[32:]:
        raise ValueError("%s: damaged secret key" % path)
    return key


def decode(topic, payload):
    """The header of a well-formed TAPS frame for its topic's device, or None."""
    if len(payload) < HEADER.size + SIGNATURE_SIZE:
        return None
    magic, ftype, _key_id, count, dev, seq, sent_at, aux = HEADER.unpack_from(payload)
    parts = topic.split("/")
    if (magic != MAGIC or ftype != TYPE_TAPS or not 1 <= count <= RECORDS_MAX or aux != 0 or dev == 0
            or len(payload) != HEADER.size + count * TAP_RECORD_SIZE + SIGNATURE_SIZE
            or len(parts) != 5 or int(parts[3], 16) != dev):
        return None
    return dev, seq, sent_at


class Ingester:
    def __init__(self, keys, server_key, db_dir):
        self.keys = keys
        self.server_key = server_key
        self.env = lmdb.open(db_dir, map_size=MAP_SIZE, sync=True, metasync=True)
        self.watermark = {}  # device id -> highest W with 1..W stored
        self.above = {}      # device id -> stored seqs above its watermark

    def store(self, dev, seq, payload):
        """Stores the frame once in its own transaction, which the commit syncs
        (sync=True: LMDB's fdatasync); the device's watermark."""
        key = struct.pack(">QQ", dev, seq)
        with self.env.begin(write=True) as txn:
            txn.put(key, payload, overwrite=False)
        w = self.watermark.get(dev, 0)
        if seq > w:
            above = self.above.setdefault(dev, set())
            above.add(seq)
            while w + 1 in above:
                w += 1
                above.discard(w)
            self.watermark[dev] = w
        return w

    def ack(self, dev, seq, sent_at, watermark):
        header = HEADER.pack(MAGIC, TYPE_ACK, SERVER_KEY_ID, 0, dev, seq, sent_at, watermark)
        return header + self.server_key.sign(header).signature

    def on_message(self, client, _userdata, msg):
        h = decode(msg.topic, msg.payload)
        key = self.keys.get(h[0]) if h else None
        if key is None:
            return
        payload = bytes(msg.payload)
        try:
            key.verify(payload[:-SIGNATURE_SIZE], payload[-SIGNATURE_SIZE:])
        except nacl.exceptions.BadSignatureError:
            return
        dev, seq, sent_at = h
        watermark = self.store(dev, seq, payload)
        topic = msg.topic[: -len("taps")] + "ack"
        client.publish(topic, self.ack(dev, seq, sent_at, watermark), qos=1)


def main(argv):
    if len(argv) != 6:
        sys.stderr.write("usage: python_ingester.py HOST PORT KEYS SERVER_KEY DB_DIR\n")
        return 2
    host, port, keys, server_key, db_dir = argv[1], int(argv[2]), argv[3], argv[4], argv[5]
    try:
        ingester = Ingester(read_keys(keys), read_server_key(server_key), db_dir)
    except (OSError, ValueError, lmdb.Error) as e:
        sys.stderr.write("python_ingester: %s\n" % e)
        return 1

    def on_connect(client, _userdata, _flags, rc):
        if rc != 0:
            sys.stderr.write("python_ingester: connect refused (%d)\n" % rc)
            os._exit(1)
        # paho-mqtt 1.6 leaves Nagle on; komposterd and the ideal ingester
        # turn it off, and an ACK held back 40 ms would measure Nagle, not Python.
        client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client.subscribe(TAPS_FILTER, qos=1)

    client = mqtt.Client(client_id="kp-bench-python-%d" % os.getpid(), clean_session=True)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.on_connect = on_connect
    client.on_message = ingester.on_message
    client.connect(host, port, keepalive=60)
    client.loop_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
