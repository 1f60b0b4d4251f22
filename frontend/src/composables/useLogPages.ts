import { markRaw, shallowRef, type ShallowRef } from 'vue'
import { getExecution } from '@/api/client'
import type { LogEntry } from '@/api/types'
import { LogPages } from '@/lib/logBuffer'

/**
 * An execution's log as the viewer reads it: a LogPages store that fills in
 * pages from the API (`after_seq` windows) when the viewer asks for a range
 * of lines, and takes live lines as they arrive. `version` changes whenever
 * lines were added, so the viewer re-reads only then; the store itself is not
 * reactive (a million-line log must not become a million proxies).
 */
export interface LogSource {
  readonly pages: LogPages
  readonly version: ShallowRef<number>
  /** Adds lines from any source (REST pages, the live stream). */
  add: (entries: readonly LogEntry[]) => number
  /** Raises the known line count (the server's `log_lines`). */
  grow: (total: number) => void
  /** Fetches what is missing of seqs `from`…`to`, and lets go of pages far from them. */
  ensure: (from: number, to: number) => void
}

export function useLogPages(executionId: string, signal: AbortSignal, pages = new LogPages()): LogSource {
  const store = markRaw(pages)
  const version = shallowRef(0)
  const loading = new Set<number>()

  function add(entries: readonly LogEntry[]): number {
    const added = store.add(entries)
    if (added > 0) version.value += 1
    return added
  }

  function grow(total: number): void {
    if (total <= store.total) return
    store.grow(total)
    version.value += 1
  }

  /** Loads one page; a page the server cut short (very long lines) is asked for again from where it stopped. */
  async function load(page: number): Promise<void> {
    loading.add(page)
    try {
      const end = (page + 1) * store.pageSize
      for (let from = store.firstMissingIn(page); from <= end; from = store.firstMissingIn(page)) {
        const detail = await getExecution(executionId, { after_seq: from - 1, limit: end - from + 1 }, signal)
        grow(detail.log_lines)
        // Nothing new (not stored yet, or a gap in the seqs): stop rather than ask again.
        if (add(detail.logs) === 0 || !detail.logs_truncated) return
      }
    } catch {
      // Left missing: the next scroll over it asks again.
    } finally {
      loading.delete(page)
    }
  }

  function ensure(from: number, to: number): void {
    const wanted = store.missingPages(from, to).filter((page) => !loading.has(page))
    for (const page of wanted) void load(page)
    const keep = new Set<number>()
    for (let page = store.pageOf(Math.max(1, from)) - 1; page <= store.pageOf(Math.max(1, to)) + 1; page += 1) keep.add(page)
    keep.add(store.pageOf(Math.max(1, store.total)))
    store.trim(keep)
  }

  return { pages: store, version, add, grow, ensure }
}
