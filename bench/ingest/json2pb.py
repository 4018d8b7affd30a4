#!/usr/bin/env python3
"""OTLP/JSON traces body -> the same request as OTLP/protobuf, for the ingest benchmark.

  bench/ingest/json2pb.py tests/fixtures/otlp/traces_basic.body bench/ingest/traces_basic.pb

Writes protobuf text format and lets protoc (Debian protobuf-compiler) encode it with the
.proto files in mock-ingest/proto, so no encoder is written here. Every edgeloss.item_id and
edgeloss.request_id value gets the prefix XXXXXXXXXX- , which post.lua (BODY_PB) overwrites in place
with a request counter (the same 11 bytes post.lua inserts into the JSON body): both bodies
then carry the same data, and the protobuf's length prefixes stay right.
"""
import json
import os
import subprocess
import sys

PLACEHOLDER = "XXXXXXXXXX-"
here = os.path.dirname(os.path.abspath(__file__))
proto_dir = os.path.join(here, "..", "..", "mock-ingest", "proto")


def q(s):
    return '"' + "".join(c if c.isalnum() or c in " -_./:" else "\\x%02x" % b
                         for c in s for b in c.encode()) + '"'


def hexbytes(h):
    return '"' + "".join("\\x" + h[i:i + 2] for i in range(0, len(h), 2)) + '"'


def anyvalue(v):
    if "stringValue" in v:
        return "string_value: " + q(v["stringValue"])
    if "boolValue" in v:
        return "bool_value: " + ("true" if v["boolValue"] else "false")
    if "intValue" in v:
        return "int_value: %d" % int(v["intValue"])
    if "doubleValue" in v:
        return "double_value: %r" % float(v["doubleValue"])
    if "arrayValue" in v:
        return "array_value { %s }" % " ".join(
            "values { %s }" % anyvalue(x) for x in v["arrayValue"].get("values", []))
    if "kvlistValue" in v:
        return "kvlist_value { %s }" % " ".join(
            "values { %s }" % kv(x) for x in v["kvlistValue"].get("values", []))
    return ""


def kv(a):
    val = dict(a["value"])
    if a["key"] in ("edgeloss.item_id", "edgeloss.request_id"):
        val = {"stringValue": PLACEHOLDER + val["stringValue"]}
    return "key: %s value { %s }" % (q(a["key"]), anyvalue(val))


def span(s):
    out = ["trace_id: " + hexbytes(s["traceId"]), "span_id: " + hexbytes(s["spanId"])]
    if s.get("parentSpanId"):
        out.append("parent_span_id: " + hexbytes(s["parentSpanId"]))
    out.append("name: " + q(s["name"]))
    out.append("kind: %d" % s.get("kind", 0))
    out.append("start_time_unix_nano: %d" % int(s["startTimeUnixNano"]))
    out.append("end_time_unix_nano: %d" % int(s["endTimeUnixNano"]))
    out += ["attributes { %s }" % kv(a) for a in s.get("attributes", [])]
    st = s.get("status", {})
    out.append("status { code: %d }" % st.get("code", 0))
    if "flags" in s:
        out.append("flags: %d" % s["flags"])
    return "spans { %s }" % " ".join(out)


def main(src, dst):
    d = json.load(open(src))
    text = []
    for rs in d["resourceSpans"]:
        parts = ["resource { %s }" % " ".join(
            "attributes { %s }" % kv(a) for a in rs.get("resource", {}).get("attributes", []))]
        for ss in rs.get("scopeSpans", []):
            sc = ss.get("scope", {})
            scope = "scope { name: %s version: %s }" % (q(sc.get("name", "")),
                                                        q(sc.get("version", "")))
            parts.append("scope_spans { %s %s }" % (scope, " ".join(span(s) for s in ss["spans"])))
        text.append("resource_spans { %s }" % " ".join(parts))
    pb = subprocess.run(
        ["protoc", "-I", proto_dir,
         "--encode=opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest",
         "opentelemetry/proto/collector/trace/v1/trace_service.proto"],
        input="\n".join(text).encode(), capture_output=True, check=True).stdout
    open(dst, "wb").write(pb)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
