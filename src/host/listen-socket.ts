// The Unix sockets nodevmm serves (the API's, a serial port's): `path=P` binds a socket file that only
// the owner can use (mode 0600 from the moment it exists) and removes it when the VMM ends, even through
// process.exit; `fd=N` listens on a socket the parent process bound and owns (libvirt's way), and leaves
// its file alone.
import { connect, type Server } from 'node:net';
import { chmodSync, fstatSync, lstatSync, statSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { VmmError } from '../errors.js';

export type ApiSocketTarget = { path: string } | { fd: number };

export interface BoundSocket {
  /** the socket file, when nodevmm created it */
  readonly path?: string;
  /** Removes the socket file if it is still the one this process created. Idempotent, synchronous. */
  release(): void;
}

/** sizeof(sockaddr_un.sun_path) less its terminating NUL */
const MAX_SOCKET_PATH = 107;

const invalid = (message: string, cause?: unknown): VmmError =>
  new VmmError('invalid-config', message, cause === undefined ? undefined : { cause });

/** Makes `server` listen on the target; `label` names the socket in error messages. */
export async function listenOnSocket(server: Server, target: ApiSocketTarget, label = 'API socket'): Promise<BoundSocket> {
  if ('fd' in target) {
    checkInheritedSocket(target.fd, label);
    await listen(server, { fd: target.fd }, `${label} fd=${target.fd}`);
    return { release: () => {} };
  }
  const path = target.path;
  // The kernel would silently bind a truncated name.
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    throw invalid(`${label} ${path}: the path is longer than ${MAX_SOCKET_PATH} bytes, the limit of a Unix socket address`);
  }
  checkSocketDirectory(path, label);
  await clearStaleSocket(path, label);
  // The umask covers the window between bind() and chmod(); bind happens inside listen(), synchronously.
  const previous = setUmask(0o177);
  const listening = listen(server, { path, exclusive: true }, `${label} ${path}`);
  if (previous !== null) setUmask(previous);
  await listening;
  chmodSync(path, 0o600);
  const { dev, ino } = statSync(path);

  const release = (): void => {
    process.off('exit', release);
    try {
      const now = lstatSync(path);
      if (now.dev === dev && now.ino === ino) unlinkSync(path);
    } catch {
      // already gone: the server's close removed it
    }
  };
  // A fatal path that ends in process.exit() skips every close; the file must not outlive the VMM.
  process.on('exit', release);
  return { path, release };
}

/**
 * Whoever can connect to the socket drives the VMM, so nobody else may put their own socket in its
 * place: a directory that every user can write is refused unless it is sticky (as /tmp is), where
 * only the owner can remove or rename the file.
 */
function checkSocketDirectory(path: string, label: string): void {
  const directory = dirname(path);
  let mode: number;
  try {
    mode = statSync(directory).mode;
  } catch (error) {
    throw invalid(`${label} ${path}: its directory ${directory} cannot be used (${(error as NodeJS.ErrnoException).code})`, error);
  }
  if ((mode & 0o002) !== 0 && (mode & 0o1000) === 0) {
    throw invalid(`${label} ${path}: its directory ${directory} is writable by every user and not sticky, so another user could replace the socket`);
  }
}

function checkInheritedSocket(fd: number, label: string): void {
  let isSocket: boolean;
  try {
    isSocket = fstatSync(fd).isSocket();
  } catch (error) {
    throw invalid(`${label} fd=${fd}: the descriptor is not open (${(error as NodeJS.ErrnoException).code})`, error);
  }
  if (!isSocket) throw invalid(`${label} fd=${fd}: the descriptor is not a socket`);
}

function listen(server: Server, options: { path: string; exclusive: boolean } | { fd: number }, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      reject(invalid(`${what}: cannot listen (${error.code ?? error.message})`, error));
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(options);
  });
}

/**
 * A socket file left by a VMM that died (SIGKILL) is removed; one that answers belongs to a live
 * process and is never touched; anything that is not a socket is never removed.
 */
async function clearStaleSocket(path: string, label: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return; // nothing there
  }
  if (!isSocket) throw invalid(`${label} ${path}: the path exists and is not a socket`);
  const alive = await new Promise<boolean>((resolve) => {
    const probe = connect({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (alive) throw invalid(`${label} ${path}: in use by another process`);
  unlinkSync(path);
}

/** process.umask is not available in worker threads: then rely on the chmod alone. */
function setUmask(mask: number): number | null {
  try {
    return process.umask(mask);
  } catch {
    return null;
  }
}
