// Routing, status mapping and the counters' REST shape, without a socket or a VM.
import test from 'ava';
import { ENDPOINTS, route, restCounters, pingResponse } from '../../../src/api/rest-endpoints.js';
import { RestError, STATUS_OF_KIND, errorReply } from '../../../src/api/rest-status.js';
import { VmmError } from '../../../src/errors.js';
import { loadOpenApi, schemaProblems } from '../../helpers/openapi.js';

const doc = loadOpenApi();

function routeError(method: string, path: string): RestError {
  try {
    route(method, path);
  } catch (error) {
    if (error instanceof RestError) return error;
    throw error;
  }
  throw new Error(`${method} ${path} was routed`);
}

test('every endpoint of LIFECYCLE.md §4 is routed with its method', (t) => {
  const expected: Record<string, 'GET' | 'PUT'> = {
    'vmm.ping': 'GET',
    'vmm.shutdown': 'PUT',
    'vm.create': 'PUT',
    'vm.boot': 'PUT',
    'vm.shutdown': 'PUT',
    'vm.reboot': 'PUT',
    'vm.pause': 'PUT',
    'vm.resume': 'PUT',
    'vm.delete': 'PUT',
    'vm.power-button': 'PUT',
    'vm.info': 'GET',
    'vm.counters': 'GET',
    'vm.snapshot': 'PUT',
    'vm.restore': 'PUT',
    'vm.send-migration': 'PUT',
    'vm.receive-migration': 'PUT',
    'vm.add-net': 'PUT',
  };
  t.deepEqual(Object.keys(ENDPOINTS).sort(), Object.keys(expected).sort());
  for (const [name, method] of Object.entries(expected)) {
    t.is(route(method, `/api/v1/${name}`).name, name);
    t.truthy(doc.paths[`/${name}`]?.[method.toLowerCase()], `${name} is documented in docs/openapi.yaml`);
  }
  t.is(route('HEAD', '/api/v1/vm.info').name, 'vm.info', 'HEAD is served wherever GET is');
});

test('a wrong method is 405 with an Allow header; an unknown path is 404', (t) => {
  const put = routeError('GET', '/api/v1/vm.boot');
  t.is(put.status, 405);
  t.is(put.headers.Allow, 'PUT');
  const get = routeError('DELETE', '/api/v1/vm.info');
  t.is(get.status, 405);
  t.is(get.headers.Allow, 'GET, HEAD');
  t.is(routeError('PUT', '/api/v1/vm.nope').status, 404);
  t.is(routeError('GET', '/vmm.ping').status, 404);
  t.is(routeError('GET', '/api/v1/').status, 404);
  t.is(routeError('GET', '/api/v1/toString').status, 404, 'no prototype keys');
  t.is(routeError('GET', '/api/v1/__proto__').status, 404);
  t.regex(routeError('PUT', '/api/v1/vm.coredump').message, /not supported by nodevmm yet/);
});

test('VMM error kinds map to 400/404/409/500; anything unexpected is 500; bodies are string arrays', (t) => {
  t.deepEqual(STATUS_OF_KIND, { 'invalid-config': 400, 'not-found': 404, 'wrong-state': 409, 'already-created': 409, internal: 500 });
  const cause = new Error('ENOMEM');
  const wrapped = errorReply(new VmmError('internal', 'boot failed', { cause }));
  t.is(wrapped.status, 500);
  t.deepEqual(wrapped.body, ['boot failed', 'ENOMEM']);
  t.is(errorReply(new VmmError('wrong-state', 'cannot pause the VM in state Created')).status, 409);
  t.is(errorReply(new TypeError('oops')).status, 500);
  t.is(errorReply('a string').status, 500);
  const rest = errorReply(new RestError(405, 'no', { Allow: 'PUT' }));
  t.deepEqual(rest, { status: 405, headers: { Allow: 'PUT' }, body: ['no'] });
  for (const reply of [wrapped, rest]) {
    t.deepEqual(schemaProblems(doc, { $ref: '#/components/schemas/ErrorBody' }, reply.body), []);
  }
});

test("counters take Cloud Hypervisor's VmCounters shape: one group per vCPU, then the rest", (t) => {
  const rest = restCounters({
    vcpus: [{ io: 12, hlt: 1 }, { intr: 3 }],
    lifecycle: { boots: 1, reboots: 0, guestShutdowns: 3, apiShutdowns: 0, pauses: 2, resumes: 2 },
    unclaimed: { pioReads: 7, pioWrites: 8, mmioReads: 9, mmioWrites: 10 },
    serial: { droppedBytes: 5 },
    eventMonitor: { lostEvents: 0, pendingEvents: 1 },
    exitTiming: [{ io: { exits: 10, timed: 2, kvmNs: 900, vmmNs: 300 } }],
  });
  t.deepEqual(Object.keys(rest), ['vcpu0', 'vcpu1', 'lifecycle', 'unclaimed', 'serial', 'event_monitor', 'exit_timing.vcpu0']);
  t.deepEqual(rest.unclaimed, { pio_reads: 7, pio_writes: 8, mmio_reads: 9, mmio_writes: 10 });
  t.deepEqual(rest.vcpu0, { io: 12, hlt: 1 });
  t.is(rest.lifecycle.pauses, 2);
  t.is(rest.lifecycle.guest_shutdowns, 3);
  t.deepEqual(rest.serial, { dropped_bytes: 5 });
  t.deepEqual(rest.event_monitor, { lost_events: 0, pending_events: 1 });
  t.deepEqual(rest['exit_timing.vcpu0'], { 'io.exits': 10, 'io.timed': 2, 'io.kvm_ns': 900, 'io.vmm_ns': 300 });
  t.deepEqual(schemaProblems(doc, { $ref: '#/components/schemas/VmCounters' }, rest), []);
});

test('the ping response matches VmmPingResponse', (t) => {
  const ping = pingResponse();
  t.is(ping.pid, process.pid);
  t.regex(ping.version, /^\d+\.\d+\.\d+$/);
  t.deepEqual(schemaProblems(doc, { $ref: '#/components/schemas/VmmPingResponse' }, ping), []);
});

test('the schema checker catches what it should (so a passing check means something)', (t) => {
  const info = { $ref: '#/components/schemas/VmInfo' };
  const good = {
    config: { cpus: { boot_vcpus: 1, max_vcpus: 1 }, memory: { size: 1 << 25 }, payload: { kernel: '/k' }, serial: { mode: 'Null' }, console: { mode: 'Off' } },
    state: 'Running',
    memory_actual_size: 1 << 25,
  };
  t.deepEqual(schemaProblems(doc, info, good), []);
  t.true(schemaProblems(doc, info, { ...good, state: 'Created-ish' }).some((p) => /not one of/.test(p)));
  t.true(schemaProblems(doc, info, { ...good, memory_actual_size: '1' }).some((p) => /expected integer/.test(p)));
  t.true(schemaProblems(doc, info, { config: good.config, state: 'Paused' }).some((p) => /missing required property memory_actual_size/.test(p)));
  t.true(schemaProblems(doc, info, { ...good, extra: 1 }).some((p) => /property extra is not in the schema/.test(p)));
  t.true(schemaProblems(doc, info, { ...good, config: { ...good.config, cpus: { boot_vcpus: 0, max_vcpus: 1 } } }).some((p) => /minimum/.test(p)));
  t.true(schemaProblems(doc, { $ref: '#/components/schemas/VmCounters' }, { vcpu0: { io: 1.5 } }).length > 0);
  t.throws(() => schemaProblems(doc, { oneOf: [] }, 1), { message: /not supported by the test checker/ });
});
