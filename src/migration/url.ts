// The URLs of Cloud Hypervisor's snapshot and migration requests: file:///DIR for a snapshot,
// unix:/PATH or tcp:HOST:PORT for a migration's socket.
import { isIP } from 'node:net';
import { VmmError } from '../errors.js';

export type MigrationEndpoint = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

/** The directory of a file:///DIR URL. */
export function parseFileUrl(url: string): string {
  if (!url.startsWith('file:///')) throw new VmmError('invalid-config', `not a file:///DIR URL: ${url}`);
  return url.slice('file://'.length);
}

const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/;

/** unix:/PATH (an absolute path) or tcp:HOST:PORT (a name, an IPv4 address or [IPv6]). */
export function parseMigrationUrl(url: string, field: string): MigrationEndpoint {
  const bad = (why: string) => new VmmError('invalid-config', `${field}: ${why}: ${JSON.stringify(url)}`);
  if (url.startsWith('unix:')) {
    const path = url.slice('unix:'.length);
    if (!path.startsWith('/') || path.includes('\0')) throw bad('expected unix:/ABSOLUTE/PATH');
    if (Buffer.byteLength(path) > 107) throw bad('a unix socket path is at most 107 bytes');
    return { kind: 'unix', path };
  }
  if (url.startsWith('tcp:')) {
    const rest = url.slice('tcp:'.length);
    const colon = rest.lastIndexOf(':');
    if (colon <= 0) throw bad('expected tcp:HOST:PORT');
    let host = rest.slice(0, colon);
    const portText = rest.slice(colon + 1);
    if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
    if (!(isIP(host) !== 0 || HOST_NAME.test(host))) throw bad(`bad host ${JSON.stringify(host)}`);
    if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) > 65535 || Number(portText) === 0) throw bad(`bad port ${JSON.stringify(portText)}`);
    return { kind: 'tcp', host, port: Number(portText) };
  }
  throw bad('expected unix:/PATH or tcp:HOST:PORT');
}

export function describeEndpoint(endpoint: MigrationEndpoint): string {
  return endpoint.kind === 'unix' ? `unix:${endpoint.path}` : `tcp:${endpoint.host}:${endpoint.port}`;
}
