// What a client sends to start a migration: the bodies of vm.send-migration and vm.receive-migration
// (Cloud Hypervisor's SendMigrationData and ReceiveMigrationData) and the URLs in them.
import test from 'ava';
import { receiveMigrationBody, sendMigrationBody } from '../../../src/api/rest-bodies.js';
import { parseMigrationUrl } from '../../../src/migration/url.js';
import { RestError } from '../../../src/api/rest-status.js';
import { VmmError } from '../../../src/errors.js';

test('migration URLs: unix:/PATH and tcp:HOST:PORT; anything else names what is wrong', (t) => {
  t.deepEqual(parseMigrationUrl('unix:/run/m.sock', 'receiver_url'), { kind: 'unix', path: '/run/m.sock' });
  t.deepEqual(parseMigrationUrl('tcp:127.0.0.1:6000', 'destination_url'), { kind: 'tcp', host: '127.0.0.1', port: 6000 });
  t.deepEqual(parseMigrationUrl('tcp:[::1]:6000', 'destination_url'), { kind: 'tcp', host: '::1', port: 6000 });
  t.deepEqual(parseMigrationUrl('tcp:dest.example:1', 'destination_url'), { kind: 'tcp', host: 'dest.example', port: 1 });
  const bad: Array<[string, RegExp]> = [
    ['unix:relative.sock', /expected unix:\/ABSOLUTE\/PATH/],
    [`unix:/${'x'.repeat(120)}`, /at most 107 bytes/],
    ['tcp:127.0.0.1', /expected tcp:HOST:PORT/],
    ['tcp:127.0.0.1:0', /bad port "0"/],
    ['tcp:127.0.0.1:70000', /bad port "70000"/],
    ['tcp:bad host:1', /bad host "bad host"/],
    ['file:///tmp/s', /expected unix:\/PATH or tcp:HOST:PORT/],
    ['', /expected unix:\/PATH or tcp:HOST:PORT/],
  ];
  for (const [url, message] of bad) {
    const error = t.throws(() => parseMigrationUrl(url, 'receiver_url'), { instanceOf: VmmError });
    t.is(error?.kind, 'invalid-config');
    t.regex(error?.message ?? '', message, url);
    t.regex(error?.message ?? '', /^receiver_url: /);
  }
});

test('send-migration takes CH\'s fields with their defaults; what nodevmm does not offer is a 400 that says so', (t) => {
  t.deepEqual(sendMigrationBody({ destination_url: 'unix:/m' }), { destinationUrl: 'unix:/m', downtimeMs: undefined, timeoutS: undefined, timeoutStrategy: undefined });
  t.deepEqual(sendMigrationBody({ destination_url: 'tcp:h:1', local: false, downtime_ms: 50, timeout_s: 10, timeout_strategy: 'Ignore', connections: 1 }), {
    destinationUrl: 'tcp:h:1',
    downtimeMs: 50,
    timeoutS: 10,
    timeoutStrategy: 'Ignore',
  });
  const bad: Array<[unknown, RegExp]> = [
    [{}, /destination_url is required/],
    [{ destination_url: 'unix:/m', local: true }, /local migration \(RAM by fd\) is not supported/],
    [{ destination_url: 'unix:/m', downtime_ms: 0 }, /downtime_ms must be an integer from 1/],
    [{ destination_url: 'unix:/m', timeout_s: 1.5 }, /timeout_s must be an integer/],
    [{ destination_url: 'unix:/m', timeout_strategy: 'Abort' }, /timeout_strategy must be "Cancel" or "Ignore"/],
    [{ destination_url: 'unix:/m', connections: 4 }, /one connection/],
    [{ destination_url: 'unix:/m', tls_dir: '/etc/tls' }, /without TLS/],
    [{ destination_url: 'unix:/m', speed: 1 }, /unknown field speed/],
    [[], /takes a JSON object/],
  ];
  for (const [body, message] of bad) {
    const error = t.throws(() => sendMigrationBody(body), { instanceOf: RestError });
    t.is(error?.status, 400);
    t.regex(error?.message ?? '', message);
  }
});

test('receive-migration takes receiver_url only', (t) => {
  t.deepEqual(receiveMigrationBody({ receiver_url: 'unix:/m' }), { receiverUrl: 'unix:/m' });
  t.regex(t.throws(() => receiveMigrationBody({}))?.message ?? '', /receiver_url is required/);
  t.regex(t.throws(() => receiveMigrationBody({ receiver_url: 'unix:/m', tls_dir: 'x' }))?.message ?? '', /without TLS/);
});
