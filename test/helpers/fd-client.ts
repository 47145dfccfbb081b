// A libvirt-like API client: raw HTTP over one Unix-socket connection, each request in one sendmsg
// with descriptors attached (SCM_RIGHTS), as libvirt's ch driver sends vm.add-net with tap fds.
import { Socket } from 'node:net';
import { native } from '../../src/kvm/native.js';
import { waitFor } from './project.js';

/** A libvirt-like client: one connection; each request goes in one sendmsg, with `fds` attached. */
export function rawClient(path: string) {
  const fd = native().unixConnect(path);
  if (fd < 0) throw new Error(`connect ${path}: ${-fd}`);
  const socket = new Socket({ fd, readable: true, writable: true });
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  let answered = 0;
  return {
    async send(method: string, endpoint: string, body: string, fds: number[]): Promise<{ status: number; text: string }> {
      const request = `${method} /api/v1/${endpoint} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
      const sent = fds.length > 0 ? native().sendWithFds(fd, Buffer.from(request), fds) : (socket.write(request), request.length);
      if (sent !== Buffer.byteLength(request)) throw new Error(`sendmsg sent ${sent}`);
      const n = ++answered;
      // each answer has a Content-Length; wait until the n-th is whole
      await waitFor(() => (received.match(/HTTP\/1\.1 \d{3}/g) ?? []).length >= n && /\r\n\r\n/.test(received.split(/(?=HTTP\/1\.1 \d{3})/)[n - 1] ?? ''), 5000, `answer ${n}`);
      const answer = received.split(/(?=HTTP\/1\.1 \d{3})/)[n - 1];
      return { status: Number(/HTTP\/1\.1 (\d{3})/.exec(answer)![1]), text: answer.slice(answer.indexOf('\r\n\r\n') + 4) };
    },
    close: () => socket.destroy(),
  };
}
