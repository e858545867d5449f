// src/glue/js/headers.js on its own, in Node: header lists as one
// "name\nvalue\n" string per direction, and responses built from that form.
import { describe, expect, test } from "vitest";
import {
  edgecache_headers_flat,
  edgecache_headers_from_flat,
  edgecache_response,
} from "../../src/glue/js/headers.js";

describe("edgecache_headers_flat", () => {
  test("writes each field as name, LF, value, LF", () => {
    const h = new Headers([["content-type", "text/plain"]]);
    expect(edgecache_headers_flat(h)).toBe("content-type\ntext/plain\n");
  });

  test("writes nothing for an empty list", () => {
    expect(edgecache_headers_flat(new Headers())).toBe("");
  });
});

describe("edgecache_headers_from_flat", () => {
  test("keeps every value of a repeated field, in order", () => {
    const h = edgecache_headers_from_flat("vary\naccept\nvary\norigin\n");
    expect(h.get("vary")).toBe("accept, origin");
  });

  test("keeps repeated Set-Cookie fields apart, in order", () => {
    const h = edgecache_headers_from_flat("set-cookie\na=1\nset-cookie\nb=2\n");
    expect(h.getSetCookie()).toEqual(["a=1", "b=2"]);
  });

  test("keeps an empty value", () => {
    const h = edgecache_headers_from_flat("x-empty\n\n");
    expect(h.has("x-empty")).toBe(true);
    expect(h.get("x-empty")).toBe("");
  });

  test("reads an empty string as an empty list", () => {
    expect([...edgecache_headers_from_flat("")]).toEqual([]);
  });

  test("throws on an invalid field name (the glue catches it)", () => {
    expect(() => edgecache_headers_from_flat("bad name\nx\n")).toThrow(TypeError);
  });
});

describe("flat round trip", () => {
  // Fields as a runtime lists them: names lower case and sorted, repeated fields
  // joined with ", " except Set-Cookie.
  const fields = [
    ["cache-control", "public, max-age=60"],
    ["content-type", "application/json; charset=utf-8"],
    ["link", "</a>; rel=preload, </b>; rel=preload"],
    ["set-cookie", "a=1; Path=/"],
    ["set-cookie", "b=2; Path=/; HttpOnly"],
    ["vary", "accept-encoding, origin"],
    ["x-colon", "a: b"],
    ["x-empty", ""],
  ];

  test("gives back the same fields in the same order", () => {
    const flat = edgecache_headers_flat(new Headers(fields));
    expect([...edgecache_headers_from_flat(flat)]).toEqual(fields);
  });

  test("flattening what was read from a flat string gives the same string", () => {
    const flat = edgecache_headers_flat(new Headers(fields));
    expect(edgecache_headers_flat(edgecache_headers_from_flat(flat))).toBe(flat);
  });
});

describe("edgecache_response", () => {
  test("has the status, the headers of the flat string and the body", async () => {
    const res = edgecache_response("hello", 201, "etag\n\"v1\"\nset-cookie\na=1\nset-cookie\nb=2\n");
    expect(res.status).toBe(201);
    expect(res.headers.get("etag")).toBe('"v1"');
    expect(res.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
    expect(await res.text()).toBe("hello");
  });

  test("takes a stream body", async () => {
    const body = new Blob(["streamed"]).stream();
    expect(await edgecache_response(body, 200, "").text()).toBe("streamed");
  });

  test("has no body when given null", () => {
    expect(edgecache_response(null, 304, "etag\n\"v1\"\n").body).toBe(null);
  });
});
