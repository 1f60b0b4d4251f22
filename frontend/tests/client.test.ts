import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  ApiError,
  buildUrl,
  cancelExecution,
  createBot,
  deleteBot,
  getExecution,
  getExecutionStats,
  listBotExecutions,
  listBots,
  listExecutions,
  openEventSource,
  previewPrompt,
  runBot,
  setApiKey,
  streamUrl,
  updateBot,
} from '@/api/client'
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

  it('adds the API key header once one is set', async () => {
    fetchMock.mockImplementation(async () => json(200, { triggers: [] }))
    await listBots()
    expect(lastCall(fetchMock).init.headers).not.toHaveProperty('X-API-Key')

    setApiKey('secret-key')
    await listBots()
    expect(lastCall(fetchMock).init.headers).toMatchObject({ 'X-API-Key': 'secret-key' })
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

describe('streams', () => {
  it('builds stream URLs and opens EventSources only through the client', async () => {
    vi.stubGlobal('EventSource', MockEventSource)
    MockEventSource.reset()
    await expect(streamUrl('/admin/executions/e1/stream', { last_event_id: 5 })).resolves.toBe(
      '/admin/executions/e1/stream?last_event_id=5',
    )
    const source = await openEventSource('/admin/executions/e1/stream')
    expect(source).toBe(MockEventSource.latest())
    expect(MockEventSource.latest().url).toBe('/admin/executions/e1/stream')
  })
})
