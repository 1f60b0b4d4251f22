import type { AnsiSegment } from './ansi'

export interface MarkedSegment extends AnsiSegment {
  /** True for text that matches the search. */
  mark: boolean
}

/** Start offsets of every case-insensitive, non-overlapping occurrence of `query` in `text`. */
export function findMatches(text: string, query: string): number[] {
  if (!query) return []
  const haystack = text.toLowerCase()
  const needle = query.toLowerCase()
  const found: number[] = []
  let at = haystack.indexOf(needle)
  while (at !== -1) {
    found.push(at)
    at = haystack.indexOf(needle, at + needle.length)
  }
  return found
}

/** Splits styled segments so that every match of `query` is its own marked piece. */
export function markSegments(segments: readonly AnsiSegment[], query: string): MarkedSegment[] {
  const text = segments.map((segment) => segment.text).join('')
  const marked = new Uint8Array(text.length)
  for (const start of findMatches(text, query)) marked.fill(1, start, start + query.length)

  const result: MarkedSegment[] = []
  let offset = 0
  for (const segment of segments) {
    let pieceStart = 0
    for (let i = 1; i <= segment.text.length; i += 1) {
      const boundary = i === segment.text.length || marked[offset + i] !== marked[offset + i - 1]
      if (!boundary) continue
      result.push({ ...segment, text: segment.text.slice(pieceStart, i), mark: marked[offset + pieceStart] === 1 })
      pieceStart = i
    }
    offset += segment.text.length
  }
  return result
}
