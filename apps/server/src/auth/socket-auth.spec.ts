import { EventEmitter } from 'node:events';
import { INIT_TIMEOUT, initDeadline, type ClosableSocket } from './socket-auth.js';

/** A socket that records how it was closed and emits `close` as ws does. */
function fakeSocket() {
  const events = new EventEmitter();
  const closes: Array<{ code?: number; reason?: string }> = [];
  const closed = new Promise<void>((resolve) => events.once('close', () => resolve()));
  const socket: ClosableSocket = {
    close(code, reason) {
      closes.push({ code, reason });
      events.emit('close');
    },
    once: (event, listener) => events.once(event, listener),
  };
  return { socket, closes, closed };
}

describe('initDeadline', () => {
  it('closes a socket that sent no accepted connection_init in time with 4408', async () => {
    const { socket, closes, closed } = fakeSocket();
    initDeadline(socket, 5);
    await closed;
    expect(closes).toEqual([{ code: INIT_TIMEOUT, reason: 'Connection initialisation timeout' }]);
  });

  it('leaves an accepted socket open', async () => {
    const accepted = fakeSocket();
    initDeadline(accepted.socket, 5).clear();
    // A second deadline on another socket fires later than the cleared one would have.
    const other = fakeSocket();
    initDeadline(other.socket, 20);
    await other.closed;
    expect(accepted.closes).toEqual([]);
    expect(other.closes).toHaveLength(1);
  });
});
