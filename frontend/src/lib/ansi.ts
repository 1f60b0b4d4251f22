/**
 * Splits text with ANSI escape codes into styled segments.
 *
 * SGR codes set the style: 0 reset, 1 bold, 2 dim, 3 italic, 4 underline,
 * 22/23/24 undo them, 30–37/90–97 foreground, 40–47/100–107 background,
 * 39/49 default colours. 256-colour and true-colour selectors (38;5;n,
 * 38;2;r;g;b and the 48 forms) are consumed without effect. Every other
 * escape sequence (cursor moves, OSC titles and links) is removed. Segment
 * text is never escaped here: it must be rendered as text, never as HTML.
 */

export interface AnsiStyle {
  /** Palette index 0–15 (8–15 are the bright colours), or null for the default. */
  fg: number | null
  bg: number | null
  bold: boolean
  dim: boolean
  italic: boolean
  underline: boolean
}

export interface AnsiSegment extends AnsiStyle {
  text: string
}

const PLAIN: AnsiStyle = { fg: null, bg: null, bold: false, dim: false, italic: false, underline: false }

/** CSI (ESC [ … final byte), OSC (ESC ] … BEL or ESC \) and two-byte escapes. */
const ESCAPE = /\u001b(?:\[([0-?]*)[ -/]*([@-~])|\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|[@-Z\\-_])/g

function applySgr(style: AnsiStyle, params: string): AnsiStyle {
  const codes = params === '' ? [0] : params.split(/[;:]/).map((part) => (part === '' ? 0 : Number(part)))
  const next = { ...style }
  for (let i = 0; i < codes.length; i += 1) {
    const code = codes[i] ?? 0
    if (code === 0) Object.assign(next, PLAIN)
    else if (code === 1) next.bold = true
    else if (code === 2) next.dim = true
    else if (code === 3) next.italic = true
    else if (code === 4) next.underline = true
    else if (code === 22) {
      next.bold = false
      next.dim = false
    } else if (code === 23) next.italic = false
    else if (code === 24) next.underline = false
    else if (code >= 30 && code <= 37) next.fg = code - 30
    else if (code >= 90 && code <= 97) next.fg = code - 90 + 8
    else if (code === 39) next.fg = null
    else if (code >= 40 && code <= 47) next.bg = code - 40
    else if (code >= 100 && code <= 107) next.bg = code - 100 + 8
    else if (code === 49) next.bg = null
    else if (code === 38 || code === 48) {
      const mode = codes[i + 1]
      i += mode === 5 ? 2 : mode === 2 ? 4 : 1
    }
  }
  return next
}

function sameStyle(a: AnsiStyle, b: AnsiStyle): boolean {
  return (
    a.fg === b.fg &&
    a.bg === b.bg &&
    a.bold === b.bold &&
    a.dim === b.dim &&
    a.italic === b.italic &&
    a.underline === b.underline
  )
}

/** Parses one chunk of text; the style starts plain. */
export function parseAnsi(input: string): AnsiSegment[] {
  const segments: AnsiSegment[] = []
  let style: AnsiStyle = { ...PLAIN }
  let cursor = 0

  const push = (text: string): void => {
    if (!text) return
    const last = segments[segments.length - 1]
    if (last && sameStyle(last, style)) last.text += text
    else segments.push({ ...style, text })
  }

  for (const match of input.matchAll(ESCAPE)) {
    push(input.slice(cursor, match.index))
    cursor = match.index + match[0].length
    if (match[2] === 'm') style = applySgr(style, match[1] ?? '')
  }
  push(input.slice(cursor))
  return segments
}

/** Text without any escape codes, e.g. for searching. */
export function stripAnsi(input: string): string {
  return input.replace(ESCAPE, '')
}

/** Inline style for a segment; colours come from the `--ansi-N` palette in the stylesheet. */
export function segmentStyle(segment: AnsiStyle): Record<string, string> {
  const style: Record<string, string> = {}
  if (segment.fg !== null) style.color = `var(--ansi-${segment.fg})`
  if (segment.bg !== null) style.backgroundColor = `var(--ansi-${segment.bg})`
  if (segment.bold) style.fontWeight = '700'
  if (segment.dim) style.opacity = '0.7'
  if (segment.italic) style.fontStyle = 'italic'
  if (segment.underline) style.textDecoration = 'underline'
  return style
}
