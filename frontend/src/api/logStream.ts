/**
 * Follows an execution's live output over SSE: `log` events (ordered by
 * their `seq`), the `conversation` derived from a line (sent just before the
 * line, with its `seq`), `status` changes, and the final `complete` event. Resuming,
 * reconnecting and dropping replays is eventStream.ts's job.
 */
import { executionStreamPath } from './client'
import { followEvents, type ConnectionState } from './eventStream'
import type { CompleteEvent, ConversationEntry, LogEntry, StatusEvent } from './types'

export type { ConnectionState } from './eventStream'

export interface LogStreamHandlers {
  onLog: (entry: LogEntry) => void
  /** A line's conversation items; after a reconnect one may come again (same `seq`). */
  onConversation?: (entry: ConversationEntry) => void
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

export function followExecutionLog(
  executionId: string,
  handlers: LogStreamHandlers,
  options: LogStreamOptions = {},
): LogStream {
  const { afterSeq, ...timing } = options
  const stream = followEvents<LogEntry, CompleteEvent>(
    {
      path: executionStreamPath(executionId),
      itemEvent: 'log',
      cursorOf: (entry) => (typeof entry.seq === 'number' ? entry.seq : null),
      onItem: handlers.onLog,
      onEvent: {
        status: (payload) => handlers.onStatus?.(payload as StatusEvent),
        conversation: (payload) => handlers.onConversation?.(payload as ConversationEntry),
      },
      onComplete: handlers.onComplete,
      onConnectionChange: handlers.onConnectionChange,
    },
    { after: afterSeq, ...timing },
  )
  return {
    get lastSeq() {
      return stream.cursor
    },
    get state() {
      return stream.state
    },
    close: stream.close,
  }
}
