// The bench origin: a Node HTTP server on 127.0.0.1 (its own process, so it does
// not share an event loop with the load generator). Answers every request with a
// small cacheable JSON body, like a DRF detail view. Prints its port on stdout.
import http from "node:http";

const body = JSON.stringify({ id: 1, title: "Course", level: "beginner", pad: "x".repeat(600) });
const server = http.createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    res.writeHead(200, {
      "content-type": "application/json",
      "cache-control": "public, max-age=900",
      "content-length": Buffer.byteLength(body),
    });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
