// Server-sent events over fetch(): /api/v1/events needs the bearer header, which EventSource
// cannot send, so the stream is read with a ReadableStream reader and parsed here.

import { token } from './api';

export interface SseMessage {
  event: string;
  data: string;
  id?: string;
}

export interface SseHandle {
  close(): void;
}

/**
 * Opens the stream and reconnects with backoff until closed. A reconnect sends the id of the
 * last event seen (`Last-Event-ID`), so the server replays what was missed; when it cannot, it
 * sends a `reset` event and the page reloads its data.
 */
export function openSse(
  path: string,
  onMessage: (msg: SseMessage) => void,
  onState: (state: 'open' | 'closed' | 'error') => void,
): SseHandle {
  const controller = new AbortController();
  let closed = false;
  let backoff = 1000;
  let lastId: string | undefined;

  const run = async () => {
    while (!closed) {
      try {
        const tok = token();
        const res = await fetch(path, {
          headers: {
            accept: 'text/event-stream',
            ...(tok ? { authorization: `Bearer ${tok}` } : {}),
            ...(lastId ? { 'last-event-id': lastId } : {}),
          },
          signal: controller.signal,
          cache: 'no-store',
        });
        if (!res.ok || !res.body) {
          onState('error');
          if (res.status === 401 || res.status === 403 || res.status === 404) return;
          throw new Error(`status ${res.status}`);
        }
        onState('open');
        backoff = 1000;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let idx: number;
          while ((idx = buffer.search(/\r?\n\r?\n/)) >= 0) {
            const block = buffer.slice(0, idx);
            const sep = buffer.slice(idx).match(/^\r?\n\r?\n/);
            buffer = buffer.slice(idx + (sep ? sep[0].length : 2));
            const msg: SseMessage = { event: 'message', data: '' };
            const data: string[] = [];
            for (const line of block.split(/\r?\n/)) {
              if (!line || line.startsWith(':')) continue;
              const colon = line.indexOf(':');
              const key = colon < 0 ? line : line.slice(0, colon);
              let val = colon < 0 ? '' : line.slice(colon + 1);
              if (val.startsWith(' ')) val = val.slice(1);
              if (key === 'event') msg.event = val;
              else if (key === 'data') data.push(val);
              else if (key === 'id') msg.id = val;
            }
            if (msg.id) lastId = msg.id;
            if (data.length) {
              msg.data = data.join('\n');
              onMessage(msg);
            }
          }
        }
        onState('closed');
      } catch (e) {
        if (closed || (e as Error).name === 'AbortError') return;
        onState('error');
      }
      if (closed) return;
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 30000);
    }
  };
  void run();
  return {
    close() {
      closed = true;
      controller.abort();
    },
  };
}
