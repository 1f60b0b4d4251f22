import { parseAnsi, stripAnsi, type AnsiSegment } from './ansi'
import type { LogEntry, LogStreamName } from '@/api/types'

export interface LogLine {
  seq: number
  stream: LogStreamName
  timestamp: string
  /** The content without escape codes, for searching. */
  text: string
  segments: AnsiSegment[]
}

function toLogLine(entry: LogEntry): LogLine {
  return {
    seq: entry.seq,
    stream: entry.stream,
    timestamp: entry.timestamp,
    text: stripAnsi(entry.content),
    segments: parseAnsi(entry.content),
  }
}

/**
 * Holds the newest `capacity` log lines in seq order. Entries at or below the
 * last seq held are ignored, so overlapping sources (a REST page and the SSE
 * replay) never produce duplicates. Lines pushed out at the front are counted.
 */
export class LogBuffer {
  readonly lines: LogLine[] = []
  dropped = 0
  lastSeq = 0

  constructor(readonly capacity: number) {}

  /** Adds entries; returns how many were new. */
  append(entries: readonly LogEntry[]): number {
    let added = 0
    for (const entry of entries) {
      if (entry.seq <= this.lastSeq) continue
      this.lines.push(toLogLine(entry))
      this.lastSeq = entry.seq
      added += 1
    }
    const excess = this.lines.length - this.capacity
    if (excess > 0) {
      this.lines.splice(0, excess)
      this.dropped += excess
    }
    return added
  }
}
