import { onScopeDispose, ref, shallowRef } from 'vue'
import { getExecution } from '@/api/client'
import { followExecutionLog, type ConnectionState, type LogStream, type LogStreamHandlers } from '@/api/logStream'
import { isActiveStatus, type Execution, type ExecutionDetail, type LogEntry } from '@/api/types'
import { useLogPages } from './useLogPages'

/** Log lines fetched per REST request. */
const LOG_PAGE_SIZE = 1000
/** Lines fetched on opening: a screenful and some; the viewer fetches the rest as it is scrolled. */
const FIRST_PAGE_SIZE = 200
/** A seq past the end of any log: asking for the lines before it gives the last page. */
const END_OF_LOG = Number.MAX_SAFE_INTEGER
/** Live lines are gathered for this long before the view updates. */
const FLUSH_INTERVAL_MS = 50

function withoutLogs(detail: ExecutionDetail): Execution {
  const { logs: _logs, logs_truncated: _truncated, ...execution } = detail
  return execution
}

/**
 * An execution and its log: loads the last page of stored output (the viewer
 * fetches any other part when it is scrolled to), then, while the execution
 * is active, follows the live stream from the last seq seen; status and
 * completion events update the execution in place. Lines from both sources go
 * into one LogSource, which ignores any seq it holds.
 * `extra.onConversation` gets the stream's conversation events (see useConversation).
 */
export function useExecutionLive(id: string, extra: Pick<LogStreamHandlers, 'onConversation'> = {}) {
  const execution = shallowRef<Execution | null>(null)
  const error = shallowRef<unknown>(null)
  const loading = ref(true)
  const loadingHistory = ref(false)
  const connection = ref<ConnectionState | null>(null)
  const controller = new AbortController()
  const log = useLogPages(id, controller.signal)
  let stream: LogStream | null = null
  let pending: LogEntry[] = []
  let flushTimer: ReturnType<typeof setTimeout> | null = null

  function flush(): void {
    if (flushTimer !== null) clearTimeout(flushTimer)
    flushTimer = null
    const entries = pending
    pending = []
    log.add(entries)
  }

  function queue(entry: LogEntry): void {
    pending.push(entry)
    flushTimer ??= setTimeout(flush, FLUSH_INTERVAL_MS)
  }

  function merge(patch: Partial<Execution>): void {
    if (execution.value) execution.value = { ...execution.value, ...patch }
  }

  function received(page: ExecutionDetail): void {
    execution.value = withoutLogs(page)
    log.grow(page.log_lines)
    log.add(page.logs)
  }

  /** Fetches the execution with the last page of its stored output. */
  async function loadEnd(): Promise<void> {
    received(await getExecution(id, { before_seq: END_OF_LOG, limit: FIRST_PAGE_SIZE }, controller.signal))
  }

  /** Fetches stored output after the last seq held until the server has no more. */
  async function loadRemaining(): Promise<void> {
    loadingHistory.value = true
    try {
      for (;;) {
        const page = await getExecution(id, { after_seq: log.pages.lastSeq, limit: LOG_PAGE_SIZE }, controller.signal)
        received(page)
        if (!page.logs_truncated || page.logs.length === 0) return
      }
    } finally {
      loadingHistory.value = false
    }
  }

  function follow(): void {
    stream?.close()
    stream = followExecutionLog(
      id,
      {
        onLog: queue,
        onConversation: extra.onConversation,
        onStatus: (event) => merge({ status: event.status, started_at: event.started_at }),
        onComplete: (event) => {
          flush()
          merge(event)
          void loadRemaining().catch(() => undefined)
        },
        onConnectionChange: (state) => {
          connection.value = state
          if (state === 'reconnecting') void syncAfterDrop()
        },
      },
      { afterSeq: log.pages.lastSeq },
    )
  }

  /**
   * While the stream is down, catches up over REST; if the execution ended
   * meanwhile (and the stream cannot tell us any more), stops following it.
   */
  async function syncAfterDrop(): Promise<void> {
    flush()
    try {
      await loadRemaining()
    } catch {
      return
    }
    if (execution.value && !isActiveStatus(execution.value.status)) stream?.close()
  }

  async function start(): Promise<void> {
    loading.value = true
    error.value = null
    try {
      await loadEnd()
      if (execution.value && isActiveStatus(execution.value.status)) follow()
    } catch (caught) {
      if (!controller.signal.aborted) error.value = caught
    } finally {
      loading.value = false
    }
  }

  onScopeDispose(() => {
    controller.abort()
    stream?.close()
    if (flushTimer !== null) clearTimeout(flushTimer)
  })

  void start()
  return { execution, error, loading, loadingHistory, connection, log, retry: start }
}
