"""Real Python clients against a running gateway, for the Go interop tests.

  clients.py mllp HOST PORT FILE...   send each file with python-hl7's
      MLLPClient on one connection; print one JSON line per file
  clients.py consume BOOTSTRAP N      read the hl7.* data topics with
      confluent-kafka until N records arrived (or 30 s passed) and parse
      each with the CloudEvents SDK's Kafka binding; print one JSON line
      per record, then a summary line

Every line is a JSON object; the Go test decides what is right. Nothing
here prints message content beyond the routing fields that are also
record headers.
"""

import json
import socket
import sys
import time

import hl7
import hl7.client
from cloudevents.core.bindings import kafka as cekafka
from cloudevents.core.formats.json import JSONFormat
from confluent_kafka import Consumer, TopicPartition

SILENCE_S = 0.4  # how long an NE/ER message is given to stay unanswered
ANSWER_S = 20.0


def msh_fields(raw):
    """MSH fields of raw bytes as str (Latin-1), numbered as in HL7:
    fields[n] is MSH-n; only for the sender's own bookkeeping."""
    first = raw.replace(b"\n", b"\r").split(b"\r", 1)[0].decode("latin-1")
    if not first.startswith("MSH") or len(first) < 4:
        return {}
    parts = first.split(first[3])
    return {n: parts[n - 1] for n in range(2, len(parts) + 1)}


def messages_of(raw):
    """The MSH-10 and MSH-15 of each message in a file: every MSH of a
    batch; only the first MSH otherwise (one frame is one message, a second
    MSH in it is just a segment)."""
    out = []
    for seg in raw.replace(b"\r\n", b"\r").replace(b"\n", b"\r").split(b"\r"):
        if seg.startswith(b"MSH"):
            f = msh_fields(seg)
            cs = charset_of(seg)
            text = lambda n: f.get(n, "").encode("latin-1").decode(cs, "replace")
            out.append({"id": text(10), "mode": text(15).strip(),
                        "reply_msh": [text(5), text(6), text(3), text(4), text(12)]})
    if not raw.startswith((b"FHS", b"BHS")):
        out = out[:1]
    return out


def charset_of(ack):
    return "latin-1" if "8859/1" in msh_fields(ack).get(18, "") else "utf-8"


def read_ack(ack):
    """Parse an answer with python-hl7: a message, or a batch of them."""
    text = ack.decode(charset_of(ack))
    if text.startswith(("FHS", "BHS")):
        msgs = list(hl7.parse_batch(text) if text.startswith("BHS") else
                    [m for b in hl7.parse_file(text) for m in b])
    else:
        msgs = [hl7.parse(text)]
    acks = []
    for m in msgs:
        msh, msa = m.segment("MSH"), m.segment("MSA")
        acks.append({
            "code": str(msa[1]), "id": str(msa[2]),
            "msh": [str(msh[n]) if len(msh) > n else "" for n in (3, 4, 5, 6, 12)],
            "charset": str(msh[18]) if len(msh) > 18 else "",
        })
    return acks


def mllp(host, port, files):
    failed = 0
    with hl7.client.MLLPClient(host, int(port)) as client:
        for path in files:
            raw = open(path, "rb").read()
            msgs = messages_of(raw)
            batch = raw.startswith((b"FHS", b"BHS"))
            silent = not batch and msgs and msgs[0]["mode"] in ("NE", "ER")
            line = {"file": path, "messages": msgs, "batch": batch}
            client.socket.settimeout(SILENCE_S if silent else ANSWER_S)
            try:
                # send_message frames the bytes; python-hl7 reads one
                # 4 KB chunk as the whole answer.
                answer = client.send_message(raw)
                if not (answer.startswith(hl7.client.SB) and answer.endswith(hl7.client.EB + hl7.client.CR)):
                    raise ValueError("answer of %d bytes is not one whole MLLP frame" % len(answer))
                line["answer_bytes"] = len(answer)
                line["acks"] = read_ack(answer[1:-2])
            except socket.timeout:
                line["acks"] = None  # no answer
            except Exception as e:  # reported, the Go test fails on it
                line["error"] = "%s: %s" % (type(e).__name__, e)
                failed += 1
            print(json.dumps(line), flush=True)
    return 1 if failed else 0


def consume(bootstrap, want):
    want = int(want)
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "interop-%d" % time.time_ns(),
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    md = c.list_topics(timeout=10)
    topics = sorted(t for t in md.topics if t.startswith("hl7.") and t != "hl7.dlq")
    c.assign([TopicPartition(t, p, 0) for t in topics for p in md.topics[t].partitions])
    n, bad, deadline = 0, 0, time.time() + 30
    while time.time() < deadline:
        m = c.poll(1.0)
        if n >= want and deadline - time.time() > 1:
            deadline = time.time() + 1  # a second more, to see any extra record
        if m is None or m.error():
            continue
        n += 1
        rec = {"topic": m.topic()}
        try:
            km = cekafka.KafkaMessage(headers={k: v for k, v in (m.headers() or [])}, key=m.key(), value=m.value())
            ev = cekafka.from_binary(km, JSONFormat())
            data = ev.get_data()
            if isinstance(data, str):
                data = data.encode("utf-8")
            rec.update({
                "id": ev.get_id(), "source": ev.get_source(), "type": ev.get_type(),
                "specversion": ev.get_specversion(), "key": ev.get_extension("partitionkey"),
                "facility": dict(km.headers).get("hl7.sending_facility", b"").decode("utf-8"),
                "application": dict(km.headers).get("hl7.sending_application", b"").decode("utf-8"),
                "data_equal": data == m.value(),
            })
        except Exception as e:
            rec["error"] = "%s: %s" % (type(e).__name__, e)
            bad += 1
        print(json.dumps(rec, ensure_ascii=False), flush=True)
    c.close()
    print(json.dumps({"summary": True, "records": n, "errors": bad, "topics": topics}), flush=True)
    return 1 if bad or n < want else 0


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "mllp":
        sys.exit(mllp(sys.argv[2], sys.argv[3], sys.argv[4:]))
    if len(sys.argv) == 4 and sys.argv[1] == "consume":
        sys.exit(consume(sys.argv[2], sys.argv[3]))
    sys.exit(__doc__)
