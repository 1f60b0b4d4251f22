/**
 * Follows one of the server's SSE streams without gaps or duplicates; the
 * execution log (logStream.ts) and an agent's inbox (inboxStream.ts) are both
 * this, with their own event names.
 *
 * The helper remembers the highest cursor (the event `id:`, which the payload
 * carries too) it has delivered. When the connection drops it closes the
 * EventSource and, after a backoff, opens a new one with
 * `?last_event_id=<cursor>` instead of letting the browser retry the old URL,
 * whose stream token may have expired: each (re)connect goes through
 * `openEventSource()`, which fetches a fresh token first. Any item at or below
 * the remembered cursor is dropped, so replays after a reconnect never show
 * twice. The `complete` event ends it, and so does a 401 on the token request
 * (the key is no longer accepted: the app is signed out).
 */
import { ApiError, openEventSource } from './client'

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed'

export interface EventStreamOptions {
  /** The highest cursor already shown (e.g. loaded over REST); the stream resumes after it. */
  after?: number
  /** First reconnect delay in ms; doubles on each consecutive failure. */
  retryDelayMs?: number
  /** Upper bound of the reconnect delay in ms. */
  maxRetryDelayMs?: number
}

/** What a stream carries: its ordered items, and other events by name. */
export interface EventStreamSpec<Item, Complete> {
  path: string
  /** The event whose payloads are the ordered items (`log`, `message`). */
  itemEvent: string
  /** An item's cursor, or null when the payload is not a valid item. */
  cursorOf: (item: Item) => number | null
  onItem: (item: Item) => void
  /** Other events (e.g. `status`), given their parsed payloads. */
  onEvent?: Record<string, (payload: unknown) => void>
  onComplete?: (event: Complete) => void
  onConnectionChange?: (state: ConnectionState) => void
}

export interface EventStream {
  /** The highest cursor delivered so far. */
  readonly cursor: number
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

export function followEvents<Item, Complete>(
  spec: EventStreamSpec<Item, Complete>,
  options: EventStreamOptions = {},
): EventStream {
  const baseDelay = options.retryDelayMs ?? 1000
  const maxDelay = options.maxRetryDelayMs ?? 15000
  let cursor = options.after ?? 0
  let state: ConnectionState = 'connecting'
  let source: EventSource | null = null
  let retryTimer: ReturnType<typeof setTimeout> | null = null
  let failures = 0

  function setState(next: ConnectionState): void {
    if (state === next) return
    state = next
    spec.onConnectionChange?.(next)
  }

  function onItem(event: Event): void {
    const item = parse<Item>(event)
    const at = item === null || typeof item !== 'object' ? null : spec.cursorOf(item)
    if (item === null || typeof at !== 'number' || at <= cursor) return
    cursor = at
    spec.onItem(item)
  }

  function onComplete(event: Event): void {
    const payload = parse<Complete>(event)
    close()
    if (payload) spec.onComplete?.(payload)
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
    const query = cursor > 0 ? { last_event_id: cursor } : {}
    let next: EventSource
    try {
      next = await openEventSource(spec.path, query)
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
    next.addEventListener(spec.itemEvent, onItem)
    for (const [name, handler] of Object.entries(spec.onEvent ?? {})) {
      next.addEventListener(name, (event) => {
        const payload = parse<unknown>(event)
        if (payload) handler(payload)
      })
    }
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

  spec.onConnectionChange?.(state)
  void connect()

  return {
    get cursor() {
      return cursor
    },
    get state() {
      return state
    },
    close,
  }
}
