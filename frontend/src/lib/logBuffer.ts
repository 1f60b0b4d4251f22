import { parseAnsi, type AnsiSegment } from './ansi'
import type { LogEntry, LogStreamName } from '@/api/types'

export interface LogLine {
  seq: number
  stream: LogStreamName
  timestamp: string
  /** The content without escape codes (its last `\r` frame), e.g. for marking matches. */
  text: string
  segments: AnsiSegment[]
}

export function toLogLine(entry: LogEntry): LogLine {
  const segments = parseAnsi(entry.content)
  return {
    seq: entry.seq,
    stream: entry.stream,
    timestamp: entry.timestamp,
    text: segments.map((segment) => segment.text).join(''),
    segments,
  }
}

/**
 * The parts of a log a viewer has looked at, in pages of `pageSize` lines by
 * seq (page p holds seqs p·size+1 … (p+1)·size), never the whole log: a
 * million-line log is read page by page as it is scrolled, and only the
 * `maxPages` most recently used pages are kept, so memory stays bounded
 * however long the log. `total` is the highest seq known (lines are numbered
 * 1, 2, … without gaps), from the server's count or from lines seen. Lines are
 * parsed (ANSI, `\r`) once, when they arrive.
 */
export class LogPages {
  total = 0
  /** The highest seq received so far (REST or live), to resume the live stream after. */
  lastSeq = 0
  private readonly pages = new Map<number, (LogLine | undefined)[]>()

  constructor(
    readonly pageSize = 500,
    readonly maxPages = 60,
  ) {}

  pageOf(seq: number): number {
    return Math.floor((seq - 1) / this.pageSize)
  }

  get(seq: number): LogLine | undefined {
    return this.pages.get(this.pageOf(seq))?.[(seq - 1) % this.pageSize]
  }

  /** Adds lines (any order, duplicates ignored); returns how many were new. */
  add(entries: readonly LogEntry[]): number {
    let added = 0
    for (const entry of entries) {
      const index = this.pageOf(entry.seq)
      let page = this.pages.get(index)
      if (!page) {
        page = []
        this.pages.set(index, page)
      }
      const slot = (entry.seq - 1) % this.pageSize
      if (page[slot]) continue
      page[slot] = toLogLine(entry)
      added += 1
      this.lastSeq = Math.max(this.lastSeq, entry.seq)
    }
    this.total = Math.max(this.total, this.lastSeq)
    return added
  }

  /** Raises the known line count (e.g. to the server's `log_lines`). */
  grow(total: number): void {
    this.total = Math.max(this.total, total)
  }

  /** The pages with at least one line missing among seqs `from`…`to` (clamped to the log). */
  missingPages(from: number, to: number): number[] {
    const last = Math.min(to, this.total)
    const missing: number[] = []
    for (let page = this.pageOf(Math.max(1, from)); page <= this.pageOf(last) && last >= 1; page += 1) {
      const lines = this.pages.get(page)
      const first = page * this.pageSize + 1
      const end = Math.min((page + 1) * this.pageSize, this.total)
      const complete = lines !== undefined && lines.length >= end - first + 1 && !lines.slice(0, end - first + 1).includes(undefined)
      if (!complete) missing.push(page)
    }
    return missing
  }

  /** The first seq of a page missing from the store at or after `page`'s start. */
  firstMissingIn(page: number): number {
    const lines = this.pages.get(page) ?? []
    for (let slot = 0; slot < this.pageSize; slot += 1) if (!lines[slot]) return page * this.pageSize + slot + 1
    return (page + 1) * this.pageSize + 1
  }

  /** Keeps the pages in `keep` and the most recently used others, up to `maxPages` in all. */
  trim(keep: Iterable<number>): void {
    const kept = new Set(keep)
    for (const page of kept) {
      const lines = this.pages.get(page)
      if (!lines) continue
      this.pages.delete(page) // re-inserted as the most recently used
      this.pages.set(page, lines)
    }
    for (const page of this.pages.keys()) {
      if (this.pages.size <= this.maxPages) break
      if (!kept.has(page)) this.pages.delete(page)
    }
  }

  /** How many lines are held (for tests and the memory bound). */
  get held(): number {
    let count = 0
    for (const page of this.pages.values()) count += page.filter(Boolean).length
    return count
  }
}
