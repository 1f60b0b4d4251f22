import { vi } from 'vitest'

export interface Answer {
  status: number
  body?: unknown
}
export type Handler = (init: RequestInit, url: URL) => Answer | Promise<Answer>
/** Handlers by `"<METHOD> <path>"`, e.g. `'GET /admin/triggers'`; tests may change them at any time. */
export type Routes = Record<string, Handler>

export interface FakeServer {
  routes: Routes
  fetch: ReturnType<typeof vi.fn<typeof fetch>>
  /** `"<METHOD> <url>"` of every request so far, in order. */
  requests: () => string[]
  /** The `X-API-Key` header of every request so far (null when none was sent). */
  sentKeys: () => (string | null)[]
}

/** An answer the way the server gives it: a JSON body, or none. */
export function answer({ status, body }: Answer): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' },
  })
}

/**
 * Stubs the global fetch with a server that answers from `routes` (404 for
 * anything else). It issues stream tokens `token-1`, `token-2`, … unless a
 * route for `POST /admin/stream-tokens` is given.
 */
export function fakeServer(routes: Routes = {}): FakeServer {
  let issued = 0
  const all: Routes = {
    'POST /admin/stream-tokens': () => {
      issued += 1
      return { status: 200, body: { token: `token-${issued}`, expires_at: '2026-11-24T10:05:00Z' } }
    },
    ...routes,
  }
  const fetchMock = vi.fn<typeof fetch>(async (input, init = {}) => {
    const url = new URL(String(input), 'http://localhost')
    const handler = all[`${init.method ?? 'GET'} ${url.pathname}`]
    return answer(handler ? await handler(init, url) : { status: 404, body: { error: `not found: ${url.pathname}` } })
  })
  vi.stubGlobal('fetch', fetchMock)
  const calls = () => fetchMock.mock.calls.map(([input, init = {}]) => ({ url: String(input), init }))
  return {
    routes: all,
    fetch: fetchMock,
    requests: () => calls().map(({ url, init }) => `${init.method ?? 'GET'} ${url}`),
    sentKeys: () => calls().map(({ init }) => new Headers(init.headers).get('X-API-Key')),
  }
}
