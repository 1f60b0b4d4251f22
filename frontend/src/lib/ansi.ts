/**
 * Splits text with ANSI escape codes into styled segments.
 *
 * SGR codes set the style: 0 reset, 1 bold, 2 dim, 3 italic, 4 underline,
 * 22/23/24 undo them, 30–37/90–97 foreground, 40–47/100–107 background,
 * 39/49 default colours, and the extended colours: 38;5;n / 48;5;n (the
 * xterm 256-colour palette) and 38;2;r;g;b / 48;2;r;g;b (true colour), with
 * `;` or `:` between the parts. Every other escape sequence (cursor moves,
 * OSC titles and links) is removed.
 *
 * A carriage return starts the line over, as a terminal does: a progress bar
 * that redraws itself with `\r` shows only its last frame (a trailing `\r`,
 * as in CRLF line ends, is not a new frame). Styles set in earlier frames
 * carry on. Segment text is never escaped here: it must be rendered as text,
 * never as HTML.
 */

/** A colour: a palette index 0–255 (0–15 follow the theme's `--ansi-N`), a CSS rgb() string, or null. */
export type AnsiColor = number | string | null

export interface AnsiStyle {
  fg: AnsiColor
  bg: AnsiColor
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

const byte = (value: number | undefined): number => Math.min(255, Math.max(0, value ?? 0))

/**
 * Reads an extended colour whose selector (38 or 48) is at `codes[at]`;
 * returns the colour (undefined if malformed) and how many codes it used.
 */
function extendedColor(codes: number[], at: number): [AnsiColor | undefined, number] {
  const mode = codes[at + 1]
  if (mode === 5) {
    const index = codes[at + 2]
    return [index === undefined || index > 255 ? undefined : index, 2]
  }
  if (mode === 2) return [`rgb(${byte(codes[at + 2])}, ${byte(codes[at + 3])}, ${byte(codes[at + 4])})`, 4]
  return [undefined, 1]
}

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
      const [color, used] = extendedColor(codes, i)
      if (color !== undefined) next[code === 38 ? 'fg' : 'bg'] = color
      i += used
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

/** Parses one line; the style starts plain, and only the last `\r` frame is kept. */
export function parseAnsi(input: string): AnsiSegment[] {
  let segments: AnsiSegment[] = []
  let style: AnsiStyle = { ...PLAIN }
  let cursor = 0
  const line = input.replace(/\r+$/, '')

  const pushText = (text: string): void => {
    if (!text) return
    const last = segments[segments.length - 1]
    if (last && sameStyle(last, style)) last.text += text
    else segments.push({ ...style, text })
  }
  const push = (text: string): void => {
    const frames = text.split('\r')
    if (frames.length > 1) segments = [] // a carriage return: what came before is overwritten
    const lastFrame = frames[frames.length - 1] ?? ''
    // The last frame overwrites from the line's start; a shorter frame leaves nothing
    // of the previous one, which is what progress output means to show.
    pushText(lastFrame)
  }

  for (const match of line.matchAll(ESCAPE)) {
    push(line.slice(cursor, match.index))
    cursor = match.index + match[0].length
    if (match[2] === 'm') style = applySgr(style, match[1] ?? '')
  }
  push(line.slice(cursor))
  return segments
}

/** The six levels of each channel in the 256-colour cube (indices 16–231). */
const CUBE_LEVELS = [0, 95, 135, 175, 215, 255]

/** The CSS colour of a palette index: the theme's 16 colours, then xterm's cube and greys. */
export function paletteColor(index: number): string {
  if (index < 16) return `var(--ansi-${index})`
  if (index < 232) {
    const cube = index - 16
    const level = (value: number): number => CUBE_LEVELS[value] ?? 0
    return `rgb(${level(Math.floor(cube / 36))}, ${level(Math.floor(cube / 6) % 6)}, ${level(cube % 6)})`
  }
  const grey = 8 + (index - 232) * 10
  return `rgb(${grey}, ${grey}, ${grey})`
}

function cssColor(color: AnsiColor): string | null {
  if (color === null) return null
  return typeof color === 'number' ? paletteColor(color) : color
}

/** Inline style for a segment; the first 16 colours come from the `--ansi-N` palette in the stylesheet. */
export function segmentStyle(segment: AnsiStyle): Record<string, string> {
  const style: Record<string, string> = {}
  const fg = cssColor(segment.fg)
  const bg = cssColor(segment.bg)
  if (fg !== null) style.color = fg
  if (bg !== null) style.backgroundColor = bg
  if (segment.bold) style.fontWeight = '700'
  if (segment.dim) style.opacity = '0.7'
  if (segment.italic) style.fontStyle = 'italic'
  if (segment.underline) style.textDecoration = 'underline'
  return style
}
