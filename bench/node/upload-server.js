// The Node.js upload server of the upload benchmark (crates/sluicegate-upload, upload-bench):
// each request body goes through pipeline(req, sha256 tap, fs.createWriteStream(partial file)),
// the file is renamed on success and the answer is the hex digest, as the sluicegate server does.
//
//   node bench/node/upload-server.js HOST:PORT DIR [MAX_BODY]
//
// Prints "listening on HOST:PORT" once it accepts connections.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const path = require('path');
const { pipeline, Transform } = require('stream');

const [addr = '127.0.0.1:0', dir = '.', maxArg] = process.argv.slice(2);
const max = maxArg === undefined ? Infinity : Number(maxArg);
const colon = addr.lastIndexOf(':');
const host = addr.slice(0, colon);
const port = Number(addr.slice(colon + 1));
let next = 0;

function answer(res, status, text) {
  if (res.headersSent) return;
  res.writeHead(status, status === 200 ? {} : { connection: 'close' });
  res.end(text);
}

const server = http.createServer((req, res) => {
  const declared = Number(req.headers['content-length']);
  if (declared > max) return answer(res, 413, '413 the body is larger than allowed\n');
  const id = ++next;
  const last = path.basename(req.url.split('?')[0]);
  const name = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(last) ? last : `upload-${id}`;
  const partial = path.join(dir, `.partial-${id}-${name}`);
  const hash = crypto.createHash('sha256');
  let seen = 0;
  const tap = new Transform({
    transform(chunk, _encoding, callback) {
      seen += chunk.length;
      if (seen > max) return callback(Object.assign(new Error('too large'), { tooLarge: true }));
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  pipeline(req, tap, fs.createWriteStream(partial), (err) => {
    if (err) {
      fs.rm(partial, { force: true }, () => {});
      return answer(res, err.tooLarge ? 413 : 400, `${err.message}\n`);
    }
    fs.rename(partial, path.join(dir, name), (e) => {
      if (e) return answer(res, 500, `${e.message}\n`);
      answer(res, 200, hash.digest('hex') + '\n');
    });
  });
});
server.listen(port, host, () => {
  console.log(`listening on ${host}:${server.address().port}`);
});
