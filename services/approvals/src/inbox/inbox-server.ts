import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Store } from '@leash/store';
import type { InboxDesk, QueueItem } from './inbox-desk';
import {
  CLIENT_SCRIPT,
  STYLES,
  messagePage,
  queuePage,
  requestPage,
  signInPage,
} from './inbox-page';
import {
  closeSession,
  findSession,
  inboxSessions,
  openSession,
  redeemInvite,
  type InboxSession,
} from './inbox-sign-in';

/*
 * The inbox over HTTP (node:http: a handful of routes need no framework).
 * Sessions are cookies (HttpOnly, SameSite=Strict, Secure and __Host- under
 * TLS); every POST but the sign-in itself carries the session's CSRF token
 * (header x-csrf-token, or field csrf in a form) and, when the browser sends
 * one, an Origin of the inbox's own.
 */

export interface InboxServerOptions {
  readonly store: Store;
  readonly desk: InboxDesk;
  readonly publicUrl?: string;
  readonly host: string;
  readonly port: number;
  readonly auth: 'invite' | 'header';
  readonly identityHeader?: string;
  readonly sessionTtlMs: number;
  /** Calls back on every change that may move a queue: the live feed. */
  readonly onChange: (listener: () => void) => () => void;
  readonly now?: () => number;
}

export interface InboxServer {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

const MAX_BODY = 64 * 1024;
const HEARTBEAT_MS = 15_000;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0)
      cookies.set(part.slice(0, eq).trim(), decodeURIComponent(part.slice(eq + 1).trim()));
  }
  return cookies;
}

async function readBody(request: IncomingMessage): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new HttpError(413, 'request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(
  response: ServerResponse,
  status: number,
  type: string,
  body: string,
  headers: Record<string, string | string[]> = {},
): void {
  response.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'content-security-policy':
      "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ...headers,
  });
  response.end(body);
}

const html = (response: ServerResponse, status: number, body: string, headers = {}) =>
  send(response, status, 'text/html; charset=utf-8', body, headers);
const json = (response: ServerResponse, status: number, body: unknown, headers = {}) =>
  send(response, status, 'application/json; charset=utf-8', JSON.stringify(body), headers);

export async function startInboxServer(options: InboxServerOptions): Promise<InboxServer> {
  const now = options.now ?? Date.now;
  const secure = options.publicUrl?.startsWith('https:') === true;
  const cookieName = secure ? '__Host-leash_inbox' : 'leash_inbox';
  const streams = new Set<ServerResponse>();

  const cookie = (value: string, maxAgeSeconds: number) =>
    `${cookieName}=${encodeURIComponent(value)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;

  /** The session of a request, opening one for a proxy's identity; undefined when signed out. */
  async function sessionOf(
    request: IncomingMessage,
  ): Promise<{ session: InboxSession; setCookie?: string } | undefined> {
    const id = parseCookies(request.headers.cookie).get(cookieName);
    const found = id !== undefined ? await findSession(options.store, id, now()) : undefined;
    if (options.auth === 'invite') return found ? { session: found } : undefined;
    // A trusted proxy signed the person in; the header is theirs alone to set.
    const header = request.headers[options.identityHeader!.toLowerCase()];
    const reviewer = (Array.isArray(header) ? header[0] : header)?.trim();
    if (!reviewer) return undefined;
    if (found && found.reviewer === reviewer) return { session: found };
    const tenants = (await options.desk.queries.directory.list())
      .filter((entry) => entry.reviewer === reviewer && entry.active)
      .map((entry) => entry.tenantId);
    const opened = await openSession(
      options.store,
      { reviewer, tenants, via: 'header' },
      options.sessionTtlMs,
      now(),
    );
    return {
      session: opened.session,
      setCookie: cookie(opened.sessionId, Math.floor(options.sessionTtlMs / 1000)),
    };
  }

  async function sessionStillOpen(sessionHash: string): Promise<boolean> {
    return (await options.store.repository(inboxSessions).get(sessionHash)) !== undefined;
  }

  function checkPost(request: IncomingMessage, session: InboxSession, formToken?: string): void {
    const origin = request.headers.origin;
    const host = request.headers.host;
    if (origin !== undefined && origin !== 'null') {
      const allowed = new Set([
        options.publicUrl && new URL(options.publicUrl).origin,
        `http://${host}`,
        `https://${host}`,
      ]);
      if (!allowed.has(origin)) throw new HttpError(403, `requests from ${origin} are refused`);
    }
    const token = request.headers['x-csrf-token'] ?? formToken;
    if (typeof token !== 'string' || !sameSecret(token, session.csrfToken))
      throw new HttpError(403, 'missing or wrong CSRF token; reload the page');
  }

  async function pushQueue(stream: ServerResponse, session: InboxSession, last: { text?: string }) {
    // A session that ran out (or was signed out) stops its stream; the page's reconnect gets a 401.
    const id = session.sessionHash;
    if (Date.parse(session.expiresAt) <= now() || !(await sessionStillOpen(id))) {
      stream.end();
      return;
    }
    const items: QueueItem[] = await options.desk.queue(session);
    const text = JSON.stringify({ items });
    if (text === last.text) return;
    last.text = text;
    stream.write(`event: queue\ndata: ${text}\n\n`);
  }

  function events(response: ServerResponse, session: InboxSession): void {
    response.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    response.write(': live\n\n');
    streams.add(response);
    const last: { text?: string } = {};
    // One refresh at a time per stream; changes during one ask for one more.
    let running: Promise<void> | undefined;
    let again = false;
    const refresh = () => {
      if (running) {
        again = true;
        return;
      }
      running = pushQueue(response, session, last)
        .catch(() => undefined)
        .finally(() => {
          running = undefined;
          if (again) {
            again = false;
            refresh();
          }
        });
    };
    const stop = options.onChange(refresh);
    // Expiry is a matter of time: look again every so often even when nothing is published.
    const heartbeat = setInterval(() => {
      response.write(': heartbeat\n\n');
      refresh();
    }, HEARTBEAT_MS);
    response.on('close', () => {
      stop();
      clearInterval(heartbeat);
      streams.delete(response);
    });
    refresh();
  }

  async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://inbox');
    const path = url.pathname;
    const method = request.method ?? 'GET';
    if (method === 'GET' && path === '/inbox.js') {
      return send(response, 200, 'text/javascript; charset=utf-8', CLIENT_SCRIPT);
    }
    if (method === 'GET' && path === '/inbox.css')
      return send(response, 200, 'text/css; charset=utf-8', STYLES);
    if (method === 'GET' && path === '/health') return json(response, 200, { status: 'ok' });
    if (method === 'GET' && path === '/favicon.ico') return send(response, 204, 'image/x-icon', '');
    if (path === '/signin' && options.auth === 'invite') {
      if (method === 'GET')
        return html(
          response,
          200,
          signInPage(undefined, url.searchParams.get('token') ?? undefined),
        );
      if (method === 'POST') {
        const token = new URLSearchParams(await readBody(request)).get('token')?.trim() ?? '';
        const signedIn = token
          ? await redeemInvite(options.store, token, options.sessionTtlMs, now())
          : undefined;
        if (!signedIn?.ok)
          return html(
            response,
            401,
            signInPage(signedIn?.reason ?? 'paste the token of your invite'),
          );
        return send(response, 303, 'text/plain', 'signed in', {
          location: '/',
          'set-cookie': cookie(signedIn.sessionId, Math.floor(options.sessionTtlMs / 1000)),
        });
      }
    }
    const found = await sessionOf(request);
    if (!found) {
      if (path.startsWith('/api/')) return json(response, 401, { error: 'sign in first' });
      if (options.auth === 'header') {
        return html(
          response,
          401,
          messagePage(
            'Not signed in',
            `The proxy in front of the inbox sent no ${options.identityHeader} header.`,
          ),
        );
      }
      return send(response, 303, 'text/plain', 'sign in', { location: '/signin' });
    }
    const { session } = found;
    const headers: Record<string, string> = found.setCookie
      ? { 'set-cookie': found.setCookie }
      : {};
    if (method === 'GET' && path === '/')
      return html(response, 200, queuePage(session.reviewer, session.csrfToken), headers);
    if (method === 'GET' && path === '/api/queue')
      return json(response, 200, { items: await options.desk.queue(session) }, headers);
    if (method === 'GET' && path === '/api/events') return events(response, session);
    const page = /^\/requests\/([A-Za-z0-9_-]{1,100})$/.exec(path);
    if (method === 'GET' && page) {
      const detail = await options.desk.request(session, page[1]!);
      if (!detail)
        return html(
          response,
          404,
          messagePage('Not found', 'No such request waits for you.'),
          headers,
        );
      return html(response, 200, requestPage(session.reviewer, session.csrfToken, detail), headers);
    }
    const api = /^\/api\/requests\/([A-Za-z0-9_-]{1,100})(\/verdict)?$/.exec(path);
    if (method === 'GET' && api && !api[2]) {
      const detail = await options.desk.request(session, api[1]!);
      return detail
        ? json(response, 200, detail, headers)
        : json(response, 404, { error: 'no such request for you' });
    }
    if (method === 'POST' && api?.[2]) {
      checkPost(request, session);
      let body: unknown;
      try {
        body = JSON.parse(await readBody(request));
      } catch {
        throw new HttpError(400, 'the body is not JSON');
      }
      const result = await options.desk.decide(session, api[1]!, body);
      return json(response, result.status, 'error' in result ? { error: result.error } : result);
    }
    if (method === 'POST' && path === '/signout') {
      const form = new URLSearchParams(await readBody(request));
      checkPost(request, session, form.get('csrf') ?? undefined);
      const id = parseCookies(request.headers.cookie).get(cookieName);
      if (id !== undefined) await closeSession(options.store, id);
      return send(response, 303, 'text/plain', 'signed out', {
        location: '/signin',
        'set-cookie': cookie('', 0),
      });
    }
    throw new HttpError(404, 'not found');
  }

  const server = createServer((request, response) => {
    route(request, response).catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : 500;
      const message = error instanceof HttpError ? error.message : 'the inbox failed; see its log';
      if (response.headersSent) return response.end();
      if (request.url?.startsWith('/api/') || request.method === 'POST')
        json(response, status, { error: message });
      else html(response, status, messagePage(String(status), message));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  const url = (options.publicUrl ?? `http://${host}:${address.port}`).replace(/\/$/, '');
  return {
    url,
    server,
    async close() {
      for (const stream of streams) stream.end();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    },
  };
}

/** Compares two secrets in constant time (their digests, so lengths leak nothing either). */
function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
