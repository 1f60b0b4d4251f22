import type { AnsiSegment } from './ansi'

/**
 * What a log line's styled text becomes on screen: pieces that keep their
 * colours, with search matches marked and web addresses made links. Marks and
 * links may cross colour boundaries, so the line's plain text is searched
 * once and the segments are cut wherever a mark or a link starts or ends.
 */

export interface MarkedSegment extends AnsiSegment {
  /** True for text that matches the search. */
  mark: boolean
  /** A safe http(s) address when this text is part of one, else null. */
  href: string | null
}

/** [start, end) ranges of the matches of a search in a line's plain text. */
export type Matcher = (text: string) => [number, number][]

/** Case-insensitive (unless told), non-overlapping occurrences of `query`. */
export function textMatcher(query: string, caseSensitive = false): Matcher | null {
  if (!query) return null
  const needle = caseSensitive ? query : query.toLowerCase()
  return (text) => {
    const haystack = caseSensitive ? text : text.toLowerCase()
    const found: [number, number][] = []
    let at = haystack.indexOf(needle)
    while (at !== -1) {
      found.push([at, at + needle.length])
      at = haystack.indexOf(needle, at + needle.length)
    }
    return found
  }
}

/**
 * The matches of a regular expression, or null when the browser cannot read it
 * (the server, which finds the lines, validates it; this only marks them).
 */
export function regexMatcher(pattern: string, caseSensitive = false): Matcher | null {
  let regex: RegExp
  try {
    regex = new RegExp(pattern, caseSensitive ? 'gu' : 'giu')
  } catch {
    return null
  }
  return (text) => {
    const found: [number, number][] = []
    for (const match of text.matchAll(regex)) {
      if (match[0].length === 0) continue // an empty match marks nothing
      found.push([match.index, match.index + match[0].length])
      if (found.length >= 1000) break
    }
    return found
  }
}

/** http(s) addresses; a trailing full stop, comma or closing bracket is left out. */
const WEB_ADDRESS = /\bhttps?:\/\/[^\s<>"'`]*[^\s<>"'`.,;:!?)\]}]/g

/** [start, end, href] of each web address in `text` that parses as an http(s) URL. */
export function findLinks(text: string): [number, number, string][] {
  const found: [number, number, string][] = []
  for (const match of text.matchAll(WEB_ADDRESS)) {
    try {
      const url = new URL(match[0])
      if (url.protocol === 'http:' || url.protocol === 'https:') {
        found.push([match.index, match.index + match[0].length, url.href])
      }
    } catch {
      // not a URL after all: stays text
    }
  }
  return found
}

/** Cuts styled segments so that each match of `matcher` is marked and each address is a link. */
export function decorate(segments: readonly AnsiSegment[], matcher: Matcher | null): MarkedSegment[] {
  const text = segments.map((segment) => segment.text).join('')
  const marks = matcher?.(text) ?? []
  const links = text.includes('http') ? findLinks(text) : []
  if (!marks.length && !links.length) return segments.map((segment) => ({ ...segment, mark: false, href: null }))

  const marked = new Uint8Array(text.length)
  for (const [start, end] of marks) marked.fill(1, start, end)
  const linkOf = new Int32Array(text.length).fill(-1)
  links.forEach(([start, end], index) => linkOf.fill(index, start, end))

  const result: MarkedSegment[] = []
  let offset = 0
  for (const segment of segments) {
    let pieceStart = 0
    for (let i = 1; i <= segment.text.length; i += 1) {
      const at = offset + i
      const boundary =
        i === segment.text.length || marked[at] !== marked[at - 1] || linkOf[at] !== linkOf[at - 1]
      if (!boundary) continue
      const link = linkOf[offset + pieceStart] ?? -1
      result.push({
        ...segment,
        text: segment.text.slice(pieceStart, i),
        mark: marked[offset + pieceStart] === 1,
        href: link >= 0 ? (links[link]?.[2] ?? null) : null,
      })
      pieceStart = i
    }
    offset += segment.text.length
  }
  return result
}
