import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  API_KEY_STORAGE,
  ApiError,
  buildUrl,
  cancelExecution,
  checkApiKey,
  createBot,
  deleteBot,
  downloadExecutionLog,
  getApiKey,
  getExecution,
  getExecutionStats,
  isOpenWithoutKey,
  listBotExecutions,
  listBots,
  listExecutions,
  listRetries,
  onSessionEnd,
  openEventSource,
  previewPrompt,
  runBot,
  setApiKey,
  signOut,
  streamUrl,
  updateBot,
} from '@/api/client'
import { answer, fakeServer } from './support/fakeServer'
import { MockEventSource } from './support/mockEventSource'

type FetchMock = ReturnType<typeof vi.fn<typeof fetch>>

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

function lastCall(mock: FetchMock): { url: string; init: RequestInit } {
  const call = mock.mock.calls[mock.mock.calls.length - 1]
  if (!call) throw new Error('fetch was not called')
  return { url: String(call[0]), init: call[1] ?? {} }
}

let fetchMock: FetchMock

beforeEach(() => {
  fetchMock = vi.fn<typeof fetch>()
  vi.stubGlobal('fetch', fetchMock)
})

afterEach(() => {
  setApiKey(null)
})

describe('buildUrl', () => {
  it('leaves out empty query values and encodes the rest', () => {
    expect(buildUrl('/admin/executions', { status: 'failed', trigger_id: undefined, q: '', limit: 50, offset: 0 })).toBe(
      '/admin/executions?status=failed&limit=50&offset=0',
    )
    expect(buildUrl('/x', { q: 'a b&c' })).toBe('/x?q=a+b%26c')
    expect(buildUrl('/x')).toBe('/x')
  })
})

describe('requests', () => {
  it('sends JSON and returns the parsed body', async () => {
    const bot = { id: 'b1', name: 'reviewer' }
    fetchMock.mockResolvedValue(json(201, bot))

    await expect(createBot({ name: 'reviewer' } as never)).resolves.toEqual(bot)
    const { url, init } = lastCall(fetchMock)
    expect(url).toBe('/admin/triggers')
    expect(init.method).toBe('POST')
    expect(init.body).toBe(JSON.stringify({ name: 'reviewer' }))
    expect(init.headers).toMatchObject({ 'Content-Type': 'application/json', Accept: 'application/json' })
  })

  it('unwraps list envelopes', async () => {
    fetchMock.mockResolvedValueOnce(json(200, { triggers: [{ id: 'b1' }] }))
    await expect(listBots()).resolves.toEqual([{ id: 'b1' }])

    fetchMock.mockResolvedValueOnce(json(200, { days: [{ date: '2026-11-24', total: 3, failed: 1 }] }))
    await expect(getExecutionStats(14)).resolves.toHaveLength(1)
    expect(lastCall(fetchMock).url).toBe('/admin/executions/stats?days=14')
  })

  it('builds the endpoint URLs with encoded ids and query strings', async () => {
    fetchMock.mockImplementation(async () => json(200, {}))

    await listExecutions({ status: 'running', limit: 50, offset: 100 })
    expect(lastCall(fetchMock).url).toBe('/admin/executions?status=running&limit=50&offset=100')

    await listBotExecutions('bot/1', { limit: 20, offset: 0 })
    expect(lastCall(fetchMock).url).toBe('/admin/triggers/bot%2F1/executions?limit=20&offset=0')

    await getExecution('e1', { q: 'error', after_seq: 0, limit: 1000 })
    expect(lastCall(fetchMock).url).toBe('/admin/executions/e1?q=error&after_seq=0&limit=1000')

    await updateBot('b1', { enabled: false })
    expect(lastCall(fetchMock)).toMatchObject({ url: '/admin/triggers/b1', init: { method: 'PUT' } })

    await previewPrompt('b1', 'hi')
    expect(lastCall(fetchMock)).toMatchObject({
      url: '/admin/triggers/b1/preview-prompt',
      init: { method: 'POST', body: '{"message":"hi"}' },
    })

    await runBot('b1', 'go')
    expect(lastCall(fetchMock)).toMatchObject({ url: '/admin/triggers/b1/run', init: { method: 'POST' } })

    await cancelExecution('e1')
    expect(lastCall(fetchMock)).toMatchObject({ url: '/admin/executions/e1/cancel', init: { method: 'POST' } })
    expect(lastCall(fetchMock).init.body).toBeUndefined()
  })

  it('resolves 204 answers to undefined', async () => {
    fetchMock.mockResolvedValue(new Response(null, { status: 204 }))
    await expect(deleteBot('b1')).resolves.toBeUndefined()
    expect(lastCall(fetchMock).init.method).toBe('DELETE')
  })
})

describe('error mapping', () => {
  it('throws ApiError with the status, message and field of a validation error', async () => {
    fetchMock.mockResolvedValue(
      json(400, { error: 'timeout_seconds must be between 1 and 86400', field: 'timeout_seconds' }),
    )
    const error = await createBot({} as never).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(ApiError)
    expect(error).toMatchObject({
      status: 400,
      message: 'timeout_seconds must be between 1 and 86400',
      field: 'timeout_seconds',
    })
  })

  it('keeps extra detail of the body, such as the running execution of a 409', async () => {
    fetchMock.mockResolvedValue(json(409, { error: 'already running', execution_id: 'e9' }))
    const error = (await runBot('b1', '').catch((caught: unknown) => caught)) as ApiError
    expect(error.status).toBe(409)
    expect(error.field).toBeNull()
    expect(error.body?.execution_id).toBe('e9')
  })

  it('falls back to the HTTP status when the body is not an error JSON', async () => {
    fetchMock.mockResolvedValue(new Response('<html>Bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }))
    await expect(listBots()).rejects.toMatchObject({ status: 502, message: 'HTTP 502 Bad Gateway', field: null })
  })

  it('reports an unreachable server as status 0', async () => {
    fetchMock.mockRejectedValue(new TypeError('Failed to fetch'))
    await expect(listBots()).rejects.toMatchObject({ name: 'ApiError', status: 0 })
  })

  it('lets aborts through unchanged', async () => {
    fetchMock.mockRejectedValue(new DOMException('aborted', 'AbortError'))
    await expect(listBots()).rejects.toMatchObject({ name: 'AbortError' })
  })
})

describe('the API key', () => {
  it('is sent as X-API-Key with every request once set, and kept in localStorage', async () => {
    const server = fakeServer({
      'GET /admin/triggers': () => ({ status: 200, body: { triggers: [] } }),
      'POST /admin/triggers/b1/run': () => ({ status: 202, body: { execution_id: 'e1' } }),
      'DELETE /admin/triggers/b1': () => ({ status: 204 }),
    })
    await listBots()
    setApiKey('secret-key')
    await listBots()
    await runBot('b1', 'go')
    await deleteBot('b1')
    expect(server.sentKeys()).toEqual([null, 'secret-key', 'secret-key', 'secret-key'])
    expect(localStorage.getItem(API_KEY_STORAGE)).toBe('secret-key')
  })

  it('survives a reload: a freshly loaded client reads it back from localStorage', async () => {
    localStorage.setItem(API_KEY_STORAGE, 'kept-key')
    vi.resetModules()
    const reloaded = await import('@/api/client')
    expect(reloaded.getApiKey()).toBe('kept-key')
    const server = fakeServer({ 'GET /admin/retries': () => ({ status: 200, body: { retries: [] } }) })
    await reloaded.listRetries()
    expect(server.sentKeys()).toEqual(['kept-key'])
    reloaded.setApiKey(null)
  })

  it('is forgotten on a 401 from any call, which ends the session', async () => {
    const ended = vi.fn()
    const stop = onSessionEnd(ended)
    setApiKey('revoked-key')
    fakeServer({ 'GET /admin/retries': () => ({ status: 401, body: { error: 'missing or invalid API key' } }) })

    await expect(listBots()).rejects.toMatchObject({ status: 404 })
    expect(ended).not.toHaveBeenCalled()
    await expect(listRetries()).rejects.toMatchObject({ status: 401, message: 'missing or invalid API key' })
    expect(ended).toHaveBeenCalledWith('rejected')
    expect(getApiKey()).toBeNull()
    expect(localStorage.getItem(API_KEY_STORAGE)).toBeNull()
    stop()
  })

  it('is kept when a 401 answers a request sent with the key it replaced', async () => {
    const ended = vi.fn()
    const stop = onSessionEnd(ended)
    let reply: (response: Response) => void = () => undefined
    fetchMock.mockReturnValue(new Promise<Response>((resolve) => (reply = resolve)))
    setApiKey('old-key')
    const pending = listBots()
    setApiKey('new-key')
    reply(json(401, { error: 'missing or invalid API key' }))
    await expect(pending).rejects.toMatchObject({ status: 401 })
    expect(getApiKey()).toBe('new-key')
    expect(ended).not.toHaveBeenCalled()
    stop()
  })

  it('signOut() forgets it and says so', () => {
    const ended = vi.fn()
    const stop = onSessionEnd(ended)
    setApiKey('some-key')
    signOut()
    expect(getApiKey()).toBeNull()
    expect(localStorage.getItem(API_KEY_STORAGE)).toBeNull()
    expect(ended).toHaveBeenCalledWith('signed-out')
    stop()
  })
})

describe('checking keys', () => {
  it('tries a candidate key without touching the key in use, even when it is refused', async () => {
    const ended = vi.fn()
    const stop = onSessionEnd(ended)
    setApiKey('current-key')
    const server = fakeServer({
      'GET /admin/triggers': (init) =>
        new Headers(init.headers).get('X-API-Key') === 'good-key'
          ? { status: 200, body: { triggers: [] } }
          : { status: 401, body: { error: 'missing or invalid API key' } },
    })
    await expect(checkApiKey('wrong-key')).resolves.toBe(false)
    await expect(checkApiKey('good-key')).resolves.toBe(true)
    expect(server.sentKeys()).toEqual(['wrong-key', 'good-key'])
    expect(getApiKey()).toBe('current-key')
    expect(ended).not.toHaveBeenCalled()
    stop()
  })

  it('throws what is not a yes or no', async () => {
    fetchMock.mockResolvedValue(json(429, { error: 'too many failed authentications' }))
    await expect(checkApiKey('any')).rejects.toMatchObject({ status: 429 })
    fetchMock.mockRejectedValue(new TypeError('Failed to fetch'))
    await expect(checkApiKey('any')).rejects.toMatchObject({ status: 0 })
  })

  it('learns without a key whether the server needs one, from what readiness shows', async () => {
    setApiKey('some-key')
    const server = fakeServer({ 'GET /health/readiness': () => ({ status: 200, body: { status: 'ok', timestamp: 'now' } }) })
    await expect(isOpenWithoutKey()).resolves.toBe(false)
    server.routes['GET /health/readiness'] = () => ({ status: 200, body: { status: 'ok', database: 'ok', version: '1' } })
    await expect(isOpenWithoutKey()).resolves.toBe(true)
    expect(server.sentKeys()).toEqual([null, null])
  })
})

describe('streams', () => {
  beforeEach(() => {
    vi.stubGlobal('EventSource', MockEventSource)
    MockEventSource.reset()
  })

  it('asks for a stream token for exactly the stream path, with the key, and puts it in the URL', async () => {
    setApiKey('secret-key')
    const server = fakeServer()
    await expect(streamUrl('/admin/executions/e1/stream', { last_event_id: 5 })).resolves.toBe(
      '/admin/executions/e1/stream?token=token-1&last_event_id=5',
    )
    const [input, init = {}] = server.fetch.mock.calls[0] ?? []
    expect(input).toBe('/admin/stream-tokens')
    expect(init.method).toBe('POST')
    expect(JSON.parse(String(init.body))).toEqual({ path: '/admin/executions/e1/stream' })
    expect(server.sentKeys()).toEqual(['secret-key'])
  })

  it('downloads a raw log through a plain link carrying a token for that log, with times when asked', async () => {
    setApiKey('secret-key')
    const server = fakeServer()
    const clicked: HTMLAnchorElement[] = []
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      clicked.push(this)
    })
    try {
      await downloadExecutionLog('e1', true)
      await downloadExecutionLog('e1', false)
    } finally {
      click.mockRestore()
    }
    expect(clicked.map((link) => link.getAttribute('href'))).toEqual([
      '/admin/executions/e1/log.txt?token=token-1&timestamps=true',
      '/admin/executions/e1/log.txt?token=token-2',
    ])
    expect(clicked.every((link) => link.hasAttribute('download'))).toBe(true)
    const paths = server.fetch.mock.calls.map(([, init]) => JSON.parse(String(init?.body)).path)
    expect(paths).toEqual(['/admin/executions/e1/log.txt', '/admin/executions/e1/log.txt'])
    expect(server.requests()).toEqual(['POST /admin/stream-tokens', 'POST /admin/stream-tokens'])
  })

  it('opens EventSources only through the client, each with a token fetched for it', async () => {
    fakeServer()
    const first = await openEventSource('/admin/executions/e1/stream')
    const second = await openEventSource('/admin/executions/e1/stream', { last_event_id: 3 })
    expect(MockEventSource.instances).toEqual([first, second])
    expect(first.url).toBe('/admin/executions/e1/stream?token=token-1')
    expect(second.url).toBe('/admin/executions/e1/stream?token=token-2&last_event_id=3')
  })

  it('ends the session when the token request is refused', async () => {
    setApiKey('revoked-key')
    fetchMock.mockResolvedValue(answer({ status: 401, body: { error: 'missing or invalid API key' } }))
    await expect(openEventSource('/admin/executions/e1/stream')).rejects.toMatchObject({ status: 401 })
    expect(getApiKey()).toBeNull()
    expect(MockEventSource.instances).toHaveLength(0)
  })
})
