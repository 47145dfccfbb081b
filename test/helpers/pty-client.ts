// A terminal client on a pty's slave path, as `screen` would be: collects what it reads, types with `type`.
import { constants, openSync, writeSync } from 'node:fs';
import { ReadStream } from 'node:tty';

export interface PtyClient {
  type(text: string): void;
  text(): string;
  close(): void;
}

export function attachPty(path: string): PtyClient {
  const fd = openSync(path, constants.O_RDWR | constants.O_NOCTTY);
  const reader = new ReadStream(fd);
  let text = '';
  reader.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  reader.on('error', () => {}); // EIO once the VMM hangs up
  return { type: (keys) => void writeSync(fd, keys), text: () => text, close: () => reader.destroy() };
}
