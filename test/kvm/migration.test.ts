// Live migration between real nodevmm processes over Cloud Hypervisor's protocol and endpoints.
// The memcheck guest (a count, and 8 MiB of RAM it keeps dirtying and checks by its sum) goes on on
// the destination with no count repeated or skipped and its memory checks passing, over unix:, tcp:
// loopback, and tcp: between two network namespaces joined by veth (two hosts in one box). The race
// the project was founded on is made deterministic by a relay between the two VMMs: it holds the
// source's bytes after the first Memory data, the test makes the guest power off or reset (a key on
// its serial port), then the relay lets the migration finish: the event is held on the source and
// replayed on the destination. A destination killed mid-way leaves the source running; a source
// killed mid-way leaves the destination without a VM and able to receive again; garbage on the
// receiver's socket ends that receive only.
import type { ExecutionContext } from 'ava';
import { connect } from 'node:net';
import { guestPath, readEvents } from '../helpers/project.js';
import { kvmSerialTest } from '../helpers/kvm-test.js';
import { guestConfig, startApiVmm, waitFor } from '../helpers/api-vmm.js';
import { after, handedOver, names, pair, relay, stateOf, unique, type PairOptions } from '../helpers/migration-pair.js';
import { scaled } from '../helpers/timing.js';
import { makeNamespacePair, namespaceProblem } from '../helpers/netns.js';
import { Command } from '../../src/migration/protocol.js';

const COUNT = /count ([0-9a-f]{8})\n/g;
const counts = (text: string): number[] => [...text.matchAll(COUNT)].map((m) => parseInt(m[1], 16));
const checks = (text: string): number => [...text.matchAll(/check ([0-9a-f]{8})\n/g)].length;
const unbroken = (text: string) => {
  const all = counts(text);
  return { ok: all.length > 0 && all.every((n, i) => n === i + 1) && !text.includes('MISMATCH'), total: all.length };
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Migrates the memcheck guest (a count, and 8 MiB it keeps dirtying and checks by its sum) to `url`:
 * the count goes on unbroken on the destination, the guest's own memory checks pass there, and the
 * source exits 0 (or stays without its VM, with --no-shutdown).
 */
async function migrateMemcheck(t: ExecutionContext, label: string, where: string, options: PairOptions & { noShutdown?: boolean } = {}) {
  const vms = await pair(guestConfig(guestPath('memcheck')), { ...options, sourceArgs: options.noShutdown ? ['--no-shutdown'] : [] });
  try {
    await waitFor(() => counts(vms.source.stdout()).length >= 10, 10_000, 'ten counts on the source');
    const receive = await vms.destination.call('PUT', 'vm.receive-migration', { receiver_url: where });
    t.is(receive.status, 204, receive.text);
    t.is((await vms.destination.call('PUT', 'vm.create', guestConfig(guestPath('counter')))).status, 409, 'a receiving VMM takes no other request');
    const send = await vms.source.call('PUT', 'vm.send-migration', { destination_url: where, downtime_ms: 300, timeout_s: 120, timeout_strategy: 'Ignore' });
    t.is(send.status, 204, send.text);
    await handedOver(vms);
    if (options.noShutdown) {
      await waitFor(() => names(vms.sourceEvents).includes('vm/migration-finished'), 10_000, 'the source to finish');
      t.is(await stateOf(vms.source), 'none', 'the source stays, without its VM');
    } else {
      await waitFor(() => vms.source.child.exitCode !== null, 20_000, `the source to exit:\n${vms.source.stderr()}`);
      const exit = await vms.source.exited;
      t.is(exit.code, 0, vms.source.stderr());
      t.like(readEvents(vms.sourceEvents).at(-1), { event: 'shutdown', source: 'vmm', properties: { reason: 'migrated' } });
    }
    const sourceText = vms.source.stdout();
    const before = unbroken(sourceText);
    t.true(before.ok && before.total >= 10, `${label}: the source counted ${before.total}`);
    // two of the guest's full memory checks (one per 64 counts) after it arrived
    await waitFor(() => checks(vms.destination.stdout()) >= 2 || vms.destination.stdout().includes('MISMATCH'), 20_000, 'two memory checks on the destination');
    t.false(vms.destination.stdout().includes('MISMATCH'), `${label}: the guest's memory check failed on the destination`);
    t.true(unbroken(sourceText + vms.destination.stdout()).ok, `${label}: source then destination is one unbroken count`);
    t.false(vms.destination.stdout().includes('nodevmm guest: memcheck'), 'the guest went on; it did not boot again');
    t.is(await stateOf(vms.destination), 'Running');
    const sent = names(vms.sourceEvents);
    t.true(sent.includes('vm/migration-started') && sent.includes('vm/migration-memory-iteration'), sent.join(' '));
    t.false(sent.includes('vm/migration-failed'));
    t.deepEqual(after(names(vms.destinationEvents), 'vm/migration-receive-started').slice(0, 2), ['vm/migration-receive-started', 'vm/migration-receive-finished']);
  } finally {
    await vms.stop();
  }
}

const port = () => 40000 + (process.pid % 20000);

kvmSerialTest('a guest that keeps dirtying memory migrates over unix: and over tcp: with its memory intact and its count unbroken; the source exits 0 (or stays, with --no-shutdown)', async (t) => {
  await migrateMemcheck(t, 'unix', `unix:${unique('m.sock')}`);
  await migrateMemcheck(t, 'tcp', `tcp:127.0.0.1:${port()}`, { noShutdown: true });
});

kvmSerialTest('across two hosts: tcp: between two network namespaces joined by veth', async (t) => {
  const problem = namespaceProblem();
  if (problem) return void t.fail(problem);
  const hosts = makeNamespacePair(String(process.pid));
  try {
    await migrateMemcheck(t, 'tcp across namespaces', `tcp:${hosts.b.address}:${port() + 1}`, { sourcePrefix: hosts.exec('a'), destinationPrefix: hosts.exec('b') });
  } finally {
    hosts.remove();
  }
});

type Pair = Awaited<ReturnType<typeof pair>>;

/**
 * Has `vms.destination` receive and `vms.source` send through a relay that holds the stream at the
 * first Memory request; resolves once it holds, with the relay and the destination's socket.
 */
async function heldAtFirstMemory(t: ExecutionContext, vms: Pair) {
  const target = unique('dest.sock');
  const relayed = unique('relay.sock');
  t.is((await vms.destination.call('PUT', 'vm.receive-migration', { receiver_url: `unix:${target}` })).status, 204);
  const between = await relay(relayed, target, Command.Memory);
  t.is((await vms.source.call('PUT', 'vm.send-migration', { destination_url: `unix:${relayed}` })).status, 204);
  await between.holding;
  return { between, target };
}

/** Migrates the serial-echo guest through a relay, typing `key` into it while the relay holds. */
async function race(t: ExecutionContext, key: 'q' | '#', destinationArgs: string[]) {
  const vms = await pair({ ...guestConfig(guestPath('serial-echo')), serial: { mode: 'Tty' } }, { stdin: true, destinationArgs });
  await vms.source.waitForOutput('echo ready', 1, 10_000);
  let between: Awaited<ReturnType<typeof relay>> | undefined;
  try {
    ({ between } = await heldAtFirstMemory(t, vms));
    vms.source.child.stdin!.write(key);
    await vms.source.waitForOutput(key === 'q' ? 'serial interrupts' : 'resetting', 1, 10_000);
    await sleep(scaled(300)); // the guest's S5 or reset write comes right after its message
    t.is(await stateOf(vms.source), 'Running', 'the source did not act on the held event');
    between.release();
    await handedOver(vms);
    t.is((await vms.source.exited).code, 0, 'the source exits 0 after a migration');
    const sent = after(names(vms.sourceEvents), 'vm/migration-started');
    t.false(sent.some((name) => ['vm/shutdown', 'vm/rebooting', 'vm/migration-failed'].includes(name)), `the source never acts on it: ${sent.join(' ')}`);
    return vms;
  } catch (error) {
    await vms.stop();
    throw error;
  } finally {
    await between?.close();
  }
}

kvmSerialTest('the race: a poweroff during the migration is held on the source and replayed on the destination (exit 0; with --no-shutdown it stays Shutdown and boots again)', async (t) => {
  const plain = await race(t, 'q', []);
  try {
    t.is((await plain.destination.exited).code, 0, plain.destination.stderr());
    t.deepEqual(after(names(plain.destinationEvents), 'vm/migration-receive-finished'), ['vm/migration-receive-finished', 'vm/shutdown', 'vm/deleted', 'vmm/shutdown']);
  } finally {
    await plain.stop();
  }

  const kept = await race(t, 'q', ['--no-shutdown']);
  try {
    await waitFor(() => names(kept.destinationEvents).includes('vm/shutdown'), 10_000, 'the replayed poweroff');
    t.deepEqual(after(names(kept.destinationEvents), 'vm/migration-receive-finished'), ['vm/migration-receive-finished', 'vm/shutdown']);
    t.is(await stateOf(kept.destination), 'Shutdown');
    t.is((await kept.destination.call('PUT', 'vm.boot')).status, 204, 'the VM boots again on the destination');
    await kept.destination.waitForOutput('echo ready', 1, 10_000);
  } finally {
    await kept.stop();
  }
});

kvmSerialTest('the race: a reset during the migration is held, then the destination reboots the VM', async (t) => {
  const vms = await race(t, '#', []);
  try {
    await vms.destination.waitForOutput('echo ready', 1, 10_000);
    const events = after(names(vms.destinationEvents), 'vm/migration-receive-finished');
    t.deepEqual(events.slice(0, 3), ['vm/migration-receive-finished', 'vm/rebooting', 'vm/rebooted']);
    t.like(readEvents(vms.destinationEvents).find((e) => e.event === 'rebooting'), { properties: { reason: 'i8042-reset' } });
    t.is(await stateOf(vms.destination), 'Running');
  } finally {
    await vms.stop();
  }
});

kvmSerialTest('kills mid-way: without its destination the source fails the migration and its guest counts on; without its source the destination drops the partial VM; garbage on a receiver ends that receive only', async (t) => {
  const vms = await pair(guestConfig(guestPath('counter')));
  try {
    await waitFor(() => counts(vms.source.stdout()).length >= 5, 10_000, 'counting');
    const { between } = await heldAtFirstMemory(t, vms);
    vms.destination.child.kill('SIGKILL');
    between.kill();
    await waitFor(() => names(vms.sourceEvents).includes('vm/migration-failed'), 20_000, 'the source to give up');
    const failed = readEvents(vms.sourceEvents).find((e) => e.event === 'migration-failed');
    t.truthy(failed?.properties?.error, 'the failure says why');
    const seen = counts(vms.source.stdout()).length;
    await waitFor(() => counts(vms.source.stdout()).length >= seen + 10, 10_000, 'counts after the failed migration');
    t.true(unbroken(vms.source.stdout()).ok);
    t.is(await stateOf(vms.source), 'Running');
    await between.close();
  } finally {
    await vms.stop();
  }

  // The source killed mid-way: the destination drops the partial VM and can receive again.
  const halves = await pair(guestConfig(guestPath('counter')));
  try {
    await waitFor(() => counts(halves.source.stdout()).length >= 5, 10_000, 'counting');
    const { between, target } = await heldAtFirstMemory(t, halves);
    halves.source.child.kill('SIGKILL');
    between.kill();
    await waitFor(() => names(halves.destinationEvents).includes('vm/migration-receive-failed'), 20_000, 'the destination to give up');
    t.is(await stateOf(halves.destination), 'none', 'no partial VM stays');
    t.is((await halves.destination.call('PUT', 'vm.receive-migration', { receiver_url: `unix:${target}` })).status, 204, 'it receives again');
    await between.close();
  } finally {
    await halves.stop();
  }

  // Garbage: the receiver answers Error and hangs up, reports the failure, and can receive again.
  const events = unique('garbage.events');
  const receiver = await startApiVmm(['--event-monitor', `path=${events}`]);
  try {
    const target = unique('garbage.sock');
    t.is((await receiver.call('PUT', 'vm.receive-migration', { receiver_url: `unix:${target}` })).status, 204);
    const answer = await new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      const socket = connect({ path: target }, () => socket.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')));
      socket.on('data', (chunk) => chunks.push(chunk));
      socket.on('error', () => {});
      socket.on('close', () => resolve(Buffer.concat(chunks)));
    });
    t.is(answer.readUInt16LE(0), 2, 'an Error response');
    await waitFor(() => names(events).includes('vm/migration-receive-failed'), 10_000, 'the receive to fail');
    t.is(await stateOf(receiver), 'none');
    t.is((await receiver.call('PUT', 'vm.receive-migration', { receiver_url: `unix:${target}` })).status, 204, 'it receives again');
    const second = await receiver.call('PUT', 'vm.receive-migration', { receiver_url: 'tcp:127.0.0.1:1' });
    t.is(second.status, 409, 'one receive at a time');
    t.regex(second.text, /a migration is in progress/);
    const malformed = await receiver.call('PUT', 'vm.receive-migration', { receiver_url: 'tcp:nowhere' });
    t.is(malformed.status, 400, 'a malformed URL is a 400');
    t.is((await receiver.call('GET', 'vmm.ping')).status, 200);
  } finally {
    await receiver.stop();
  }
});
