// The HTTP worker of figure 7 for PM2's cluster mode (PM2 can only share
// one port among workers for Node programs): the same server as
// httpworker.c -- "200 ok" to every request, LEAK bytes (touched) kept
// forever per request -- and the same drain on SIGINT (PM2's kill signal)
// or SIGTERM: stop accepting, answer each open connection's next request
// with "Connection: close", exit when the last one is gone or after
// DRAIN_WAIT_MS.
'use strict';
const http = require('http');

const port = parseInt(process.env.PORT || '8080', 10);
const leak = parseInt(process.env.LEAK || '0', 10);
const drainWait = parseInt(process.env.DRAIN_WAIT_MS || '5000', 10);
const kept = [];
let draining = false;

const server = http.createServer((req, res) => {
  if (leak > 0)
    kept.push(Buffer.allocUnsafeSlow(leak).fill(0x5a));
  const headers = { 'Content-Type': 'text/plain', 'Content-Length': '3' };
  if (draining)
    headers.Connection = 'close';
  res.writeHead(200, headers);
  res.end('ok\n');
});
server.keepAliveTimeout = 60000;

// Node >= 19 closes idle keep-alive connections in server.close(); a
// client may be sending its next request on one at that moment and would
// see a reset.  Like httpworker.c, let each connection end after its next
// answer instead.
server.closeIdleConnections = () => {};

function drain() {
  if (draining)
    return;
  draining = true;
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), drainWait).unref();
}
process.on('SIGINT', drain);
process.on('SIGTERM', drain);

server.listen(port, '127.0.0.1');
