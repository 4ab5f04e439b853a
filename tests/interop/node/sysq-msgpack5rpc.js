// SPDX-License-Identifier: ISC
// sysq-msgpack5rpc.js - talks to sysqd through msgpack5rpc (npm, pinned in
// package-lock.json beside this file), a msgpack-rpc session nobody here
// wrote, and checks what comes back.  Driven by
// tests/interop/test_thirdparty.py:
//
//   NODE_PATH=<cache>/node_modules node sysq-msgpack5rpc.js SOCKET SCENARIO [ARG]
//
// Prints one line per check; exits 1 on the first failure, saying what was
// expected and what came, or when the daemon closes the session early.
'use strict';

const net = require('net');
const fs = require('fs');
const os = require('os');
const path = require('path');
const childProcess = require('child_process');
const Session = require('msgpack5rpc');

const [sock, scenario, arg] = process.argv.slice(2);
const DEADLINE_MS = 20000; // generous: a stuck daemon, never a timing claim

function fail(why) {
  console.log('FAIL: ' + why);
  process.exit(1);
}

const conn = net.createConnection(sock);
const session = new Session();
conn.on('error', (e) => fail('socket: ' + e.message));
conn.on('connect', () => main().then(() => {
  session.detach();
  conn.end();
  process.exit(0);
}, (e) => fail(e && e.stack ? e.stack : JSON.stringify(e))));
session.attach(conn, conn);
session.on('detach', () => {
  if (!finished) fail('the daemon closed the session');
});
let finished = false;
setTimeout(() => fail('no end within ' + DEADLINE_MS + ' ms'), DEADLINE_MS).unref();

// The library's callback style as a promise: resolves with the result,
// rejects with the error object exactly as msgpack5rpc handed it over.
function call(method, args) {
  return new Promise((resolve, reject) => {
    session.request(method, args, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

// Notifications as they come: waitFor(pred) resolves with the first
// [method, args] that pred accepts, whether it came before or after.
const notes = [];
const waiters = [];
session.on('notification', (method, args) => {
  notes.push([method, args]);
  for (let i = 0; i < waiters.length; i++) {
    if (waiters[i].pred(method, args)) {
      waiters.splice(i, 1)[0].resolve([method, args]);
      i--;
    }
  }
});
function waitFor(pred) {
  const seen = notes.find(([m, a]) => pred(m, a));
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve) => waiters.push({ pred, resolve }));
}

function expect(cond, why) {
  if (!cond) fail(why);
}

async function calls() {
  expect((await call('sys.ping', [])) === 'pong', 'sys.ping');
  console.log('ok sys.ping');
  const hello = await call('sys.hello', [{}]);
  expect(hello.server === 'sysqd', 'sys.hello server: ' + JSON.stringify(hello.server));
  expect(hello.peer.pid === process.pid, 'sys.hello peer pid ' + hello.peer.pid + ', mine ' + process.pid);
  console.log('ok sys.hello');
  const me = await call('proc.get', [{ pid: process.pid }]);
  expect(me.pid === process.pid, 'proc.get: ' + JSON.stringify(me));
  console.log('ok proc.get with params');
  // a method name as a Buffer: msgpack5 sends it as bin
  expect((await call(Buffer.from('sys.ping'), [])) === 'pong', 'sys.ping named by a bin');
  console.log('ok a bin method name');
}

function shown(method) {
  return Buffer.isBuffer(method) ? 'bin ' + method.toString('hex') : method;
}

async function expectError(method, args, code) {
  let res;
  try {
    res = await call(method, args);
  } catch (err) {
    expect(err && err.code === code, shown(method) + ': error ' + JSON.stringify(err) + ', expected ' + code);
    expect(typeof err.message === 'string' && err.message.length > 0, method + ': no message');
    console.log('ok ' + shown(method) + ' -> ' + err.code + ': ' + err.message);
    return;
  }
  fail(shown(method) + ': succeeded (' + JSON.stringify(res) + '), expected ' + code);
}

async function errors() {
  await expectError('fs.stat', [{ path: '/nonexistent/sysq-interop' }], 'ENOENT');
  await expectError('sys.ping', [{ nonsense: true }], 'EINVAL');
  await expectError('no.such.method', [], 'ENOSYS');
  // a name that is not UTF-8, as a bin: refused, the session lives on
  await expectError(Buffer.from([0x73, 0x79, 0xff, 0x2e]), [], 'EINVAL');
  expect((await call('sys.ping', [])) === 'pong', 'sys.ping after the errors');
  console.log('ok the session outlives the errors');
}

async function pipeline() {
  const n = 1000;
  const all = [];
  for (let i = 0; i < n; i++)
    all.push(i % 4 === 0 ? call('sys.uname', []) : call('sys.ping', []));
  const got = await Promise.all(all);
  got.forEach((r, i) => {
    if (i % 4 === 0) expect(typeof r.sysname === 'string', 'call ' + i + ' (sys.uname): ' + JSON.stringify(r));
    else expect(r === 'pong', 'call ' + i + ' (sys.ping): ' + JSON.stringify(r));
  });
  console.log('ok ' + n + ' pipelined calls');
}

// The session's own notifications go out (the daemon ignores them), then a
// subscription's notification comes in: a child of ours exits.
async function notify() {
  session.notify('session.hello', [{ client: 'msgpack5rpc' }]);
  session.notify(Buffer.from('nvim_subscribe'), ['event']);
  expect((await call('sys.ping', [])) === 'pong', 'sys.ping after our notifications');
  console.log('ok our notifications ignored, the session still answers');

  const child = childProcess.spawn('sleep', ['60'], { stdio: 'ignore' });
  const sub = await call('watch.subscribe', [{ topics: ['proc.exit'], pids: [child.pid] }]);
  expect(sub.subscription > 0, 'watch.subscribe: ' + JSON.stringify(sub));
  child.kill('SIGKILL');
  const [, args] = await waitFor((m, a) => m === 'watch.event' && a[0].subscription === sub.subscription);
  const ev = args[0];
  expect(ev.topic === 'proc.exit' && ev.pid === child.pid && ev.event === 'exited',
         'watch.event: ' + JSON.stringify(ev));
  console.log('ok watch.event for pid ' + ev.pid + ' (' + (ev.signal || ev.exit_code || 'no status') + ')');
}

// file.read: the response, then file.data bins, then file.end, by msgid.
// msgpack5rpc does not say which msgid a request got: it counts from 1, and
// this is the session's only request.
async function fileRead() {
  const file = arg;
  const want = fs.readFileSync(file);
  const msgid = 1;
  const res = await call('file.read', [{ path: file }]);
  expect(res.size === want.length, 'file.read size ' + res.size + ', the file has ' + want.length);
  const [, endArgs] = await waitFor((m, a) => m === 'file.end' && a[0].msgid === msgid);
  const end = endArgs[0];
  expect(end.error === null || end.error === undefined, 'file.end error: ' + JSON.stringify(end.error));
  expect(end.bytes === want.length, 'file.end bytes ' + end.bytes + ', wanted ' + want.length);
  const chunks = notes.filter(([m, a]) => m === 'file.data' && a[0].msgid === msgid).map(([, a]) => a[0].data);
  chunks.forEach((c) => expect(Buffer.isBuffer(c), 'file.data data is not a bin'));
  const got = Buffer.concat(chunks);
  expect(got.equals(want), 'file.read: ' + got.length + ' bytes that differ from the file');
  console.log('ok file.read ' + got.length + ' bytes in ' + chunks.length + ' chunks');
}

async function main() {
  const scenarios = { calls, errors, pipeline, notify, 'file.read': fileRead };
  if (!scenarios[scenario]) fail('unknown scenario ' + scenario);
  await scenarios[scenario]();
  finished = true;
}
