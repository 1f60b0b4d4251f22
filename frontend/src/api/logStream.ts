/**
 * Follows an execution's live output over SSE without gaps or duplicates.
 *
 * The helper remembers the highest log `seq` it has delivered. When the
 * connection drops it closes the EventSource and, after a backoff, opens a
 * new one with `?last_event_id=<seq>` instead of letting the browser retry
 * the old URL, whose stream token may have expired: each (re)connect goes
 * through `openEventSource()`, which fetches a fresh token first. Any entry
 * at or below the remembered seq is dropped, so replays after a reconnect
 * never show twice. A `complete` event ends it, and so does a 401 on the
 * token request (the key is no longer accepted: the app is signed out).
 */
import { ApiError, executionStreamPath, openEventSource } from './client'
import type { CompleteEvent, LogEntry, StatusEvent } from './types'

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed'

export interface LogStreamHandlers {
  onLog: (entry: LogEntry) => void
  onStatus?: (event: StatusEvent) => void
  onComplete?: (event: CompleteEvent) => void
  onConnectionChange?: (state: ConnectionState) => void
}

export interface LogStreamOptions {
  /** The highest seq already shown (e.g. loaded over REST); the stream resumes after it. */
  afterSeq?: number
  /** First reconnect delay in ms; doubles on each consecutive failure. */
  retryDelayMs?: number
  /** Upper bound of the reconnect delay in ms. */
  maxRetryDelayMs?: number
}

export interface LogStream {
  /** The highest seq delivered so far. */
  readonly lastSeq: number
  readonly state: ConnectionState
  close: () => void
}

function parse<T>(event: Event): T | null {
  try {
    return JSON.parse((event as MessageEvent<string>).data) as T
  } catch {
    return null
  }
}

export function followExecutionLog(
  executionId: string,
  handlers: LogStreamHandlers,
  options: LogStreamOptions = {},
): LogStream {
  const baseDelay = options.retryDelayMs ?? 1000
  const maxDelay = options.maxRetryDelayMs ?? 15000
  let lastSeq = options.afterSeq ?? 0
  let state: ConnectionState = 'connecting'
  let source: EventSource | null = null
  let retryTimer: ReturnType<typeof setTimeout> | null = null
  let failures = 0

  function setState(next: ConnectionState): void {
    if (state === next) return
    state = next
    handlers.onConnectionChange?.(next)
  }

  function onLog(event: Event): void {
    const entry = parse<LogEntry>(event)
    if (!entry || typeof entry.seq !== 'number' || entry.seq <= lastSeq) return
    lastSeq = entry.seq
    handlers.onLog(entry)
  }

  function onStatus(event: Event): void {
    const payload = parse<StatusEvent>(event)
    if (payload) handlers.onStatus?.(payload)
  }

  function onComplete(event: Event): void {
    const payload = parse<CompleteEvent>(event)
    close()
    if (payload) handlers.onComplete?.(payload)
  }

  function onError(): void {
    if (state === 'closed') return
    source?.close()
    source = null
    setState('reconnecting')
    const delay = Math.min(maxDelay, baseDelay * 2 ** failures)
    failures += 1
    retryTimer = setTimeout(() => {
      retryTimer = null
      void connect()
    }, delay)
  }

  async function connect(): Promise<void> {
    const query = lastSeq > 0 ? { last_event_id: lastSeq } : {}
    let next: EventSource
    try {
      next = await openEventSource(executionStreamPath(executionId), query)
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) close()
      else onError()
      return
    }
    if (state === 'closed') {
      next.close()
      return
    }
    source = next
    next.addEventListener('open', () => {
      failures = 0
      setState('open')
    })
    next.addEventListener('log', onLog)
    next.addEventListener('status', onStatus)
    next.addEventListener('complete', onComplete)
    next.addEventListener('error', onError)
  }

  function close(): void {
    setState('closed')
    if (retryTimer !== null) clearTimeout(retryTimer)
    retryTimer = null
    source?.close()
    source = null
  }

  handlers.onConnectionChange?.(state)
  void connect()

  return {
    get lastSeq() {
      return lastSeq
    },
    get state() {
      return state
    },
    close,
  }
}
