// A minimal QMP client (QEMU's JSON monitor protocol over a unix socket): one command at a time,
// answers matched in order, asynchronous events skipped. Enough to drive `migrate` and read
// `query-migrate` for the migration benchmark.
import { connect, type Socket } from 'node:net';

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void; command: string };

export class Qmp {
  private buffer = '';
  private readonly pending: Pending[] = [];
  private greeted!: Promise<void>;

  private constructor(private readonly socket: Socket) {}

  /** Connects (retrying until QEMU listens or `timeoutMs` passes) and leaves capabilities negotiation done. */
  static async open(path: string, timeoutMs = 30_000): Promise<Qmp> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const socket = await new Promise<Socket>((resolve, reject) => {
          const s = connect({ path }, () => resolve(s));
          s.once('error', reject);
        });
        const qmp = new Qmp(socket);
        qmp.listen();
        await qmp.greeted;
        await qmp.execute('qmp_capabilities');
        return qmp;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`QMP at ${path}: ${(error as Error).message}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  private listen(): void {
    let greet!: () => void;
    this.greeted = new Promise((resolve) => (greet = resolve));
    this.socket.setEncoding('utf8');
    this.socket.on('data', (text: string) => {
      this.buffer += text;
      for (let nl = this.buffer.indexOf('\n'); nl >= 0; nl = this.buffer.indexOf('\n')) {
        const line = this.buffer.slice(0, nl).trim();
        this.buffer = this.buffer.slice(nl + 1);
        if (!line) continue;
        const message = JSON.parse(line) as { QMP?: unknown; event?: string; return?: unknown; error?: { desc: string } };
        if (message.QMP) greet();
        else if (message.event) continue;
        else {
          const waiter = this.pending.shift();
          if (!waiter) continue;
          if (message.error) waiter.reject(new Error(`QMP ${waiter.command}: ${message.error.desc}`));
          else waiter.resolve(message.return);
        }
      }
    });
    const fail = (error: Error) => this.pending.splice(0).forEach((p) => p.reject(error));
    this.socket.on('error', fail);
    this.socket.on('close', () => fail(new Error('QMP connection closed')));
  }

  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ resolve: resolve as (value: unknown) => void, reject, command });
      this.socket.write(JSON.stringify(args ? { execute: command, arguments: args } : { execute: command }) + '\n');
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
