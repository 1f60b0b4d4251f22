import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import AnsiText from '@/components/AnsiText.vue'
import { paletteColor, parseAnsi, segmentStyle, type AnsiColor } from '@/lib/ansi'

const ESC = '\u001b'

function texts(input: string): [string, AnsiColor, AnsiColor, boolean][] {
  return parseAnsi(input).map((s) => [s.text, s.fg, s.bg, s.bold])
}

describe('parseAnsi', () => {
  it('returns plain text as one unstyled segment', () => {
    expect(parseAnsi('hello world')).toEqual([
      { text: 'hello world', fg: null, bg: null, bold: false, dim: false, italic: false, underline: false },
    ])
    expect(parseAnsi('')).toEqual([])
  })

  it('applies the standard and bright foreground colours', () => {
    expect(texts(`${ESC}[31mred${ESC}[0m plain ${ESC}[92mbright green`)).toEqual([
      ['red', 1, null, false],
      [' plain ', null, null, false],
      ['bright green', 10, null, false],
    ])
    expect(texts(`${ESC}[37ma${ESC}[97mb${ESC}[30mc${ESC}[90md`).map((s) => s[1])).toEqual([7, 15, 0, 8])
  })

  it('applies background colours and bold, combined in one sequence', () => {
    expect(texts(`${ESC}[1;33;44mwarn${ESC}[m`)).toEqual([['warn', 3, 4, true]])
    expect(texts(`${ESC}[47mx${ESC}[40my`).map((s) => s[2])).toEqual([7, 0])
  })

  it('resets with 0, with an empty parameter list, and per attribute', () => {
    expect(texts(`${ESC}[1;31ma${ESC}[mb`)).toEqual([
      ['a', 1, null, true],
      ['b', null, null, false],
    ])
    expect(texts(`${ESC}[1;31;42ma${ESC}[22mb${ESC}[39mc${ESC}[49md`)).toEqual([
      ['a', 1, 2, true],
      ['b', 1, 2, false],
      ['c', null, 2, false],
      ['d', null, null, false],
    ])
  })

  it('applies 256-colour and true-colour selectors without misreading their parameters', () => {
    // 38;5;1 must not be read as "bold" (1); 48;2;1;32;3 must not be read as colours.
    expect(texts(`${ESC}[38;5;1mx${ESC}[48;2;1;32;3my`)).toEqual([
      ['x', 1, null, false],
      ['y', 1, 'rgb(1, 32, 3)', false],
    ])
    // Codes after an extended colour still apply; the colon form works too.
    expect(texts(`${ESC}[38;5;200;1;32mz`)).toEqual([['z', 2, null, true]])
    expect(texts(`${ESC}[38:2:255:0:128mw`)).toEqual([['w', 'rgb(255, 0, 128)', null, false]])
    // An index past the palette is ignored, not a crash.
    expect(texts(`${ESC}[38;5;999mv`)).toEqual([['v', null, null, false]])
  })

  it('maps the 256-colour palette: theme colours, the 6×6×6 cube, the grey ramp', () => {
    expect(paletteColor(9)).toBe('var(--ansi-9)')
    expect(paletteColor(16)).toBe('rgb(0, 0, 0)')
    expect(paletteColor(208)).toBe('rgb(255, 135, 0)')
    expect(paletteColor(231)).toBe('rgb(255, 255, 255)')
    expect(paletteColor(232)).toBe('rgb(8, 8, 8)')
    expect(paletteColor(255)).toBe('rgb(238, 238, 238)')
    expect(segmentStyle(parseAnsi(`${ESC}[38;5;208;48;2;1;2;3mx`)[0]!)).toEqual({
      color: 'rgb(255, 135, 0)',
      backgroundColor: 'rgb(1, 2, 3)',
    })
  })

  it('keeps only the last frame of a line redrawn with carriage returns', () => {
    expect(texts('downloading 10%\rdownloading 55%\rdone')).toEqual([['done', null, null, false]])
    // A style set in an earlier frame carries on; a CRLF line end is not a new frame.
    expect(texts(`${ESC}[32m 10%\r100%${ESC}[0m ok\r\n`.replace('\n', ''))).toEqual([
      ['100%', 2, null, false],
      [' ok', null, null, false],
    ])
    expect(texts('progress\r\r')).toEqual([['progress', null, null, false]])
    expect(texts('abc\r')).toEqual([['abc', null, null, false]])
  })

  it('removes escape sequences that are not colours', () => {
    const input = `${ESC}[2K${ESC}[1Gprogress ${ESC}]0;title${ESC}\\done ${ESC}]8;;https://x.test${ESC}\\link${ESC}]8;;${ESC}\\`
    expect(parseAnsi(input).map((s) => s.text).join('')).toBe('progress done link')
    expect(parseAnsi(`${ESC}[1;31merror:${ESC}[0m boom${ESC}[?25l`).map((s) => s.text).join('')).toBe('error: boom')
  })

  it('never escapes or interprets markup itself', () => {
    expect(parseAnsi(`${ESC}[31m<b>&amp;</b>`)[0]?.text).toBe('<b>&amp;</b>')
  })

  it('maps styles to palette variables', () => {
    const [segment] = parseAnsi(`${ESC}[1;3;4;2;91;104mx`)
    expect(segment && segmentStyle(segment)).toEqual({
      color: 'var(--ansi-9)',
      backgroundColor: 'var(--ansi-12)',
      fontWeight: '700',
      opacity: '0.7',
      fontStyle: 'italic',
      textDecoration: 'underline',
    })
  })
})

describe('AnsiText', () => {
  it('renders HTML in log text as escaped text, with colours as styled spans', () => {
    const wrapper = mount(AnsiText, {
      props: { segments: parseAnsi(`<script>alert(1)</script> ${ESC}[31m<img src=x onerror=alert(2)>${ESC}[0m`) },
    })
    const html = wrapper.html()
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;')
    expect(html).toContain('&lt;img src=x onerror=alert(2)&gt;')
    expect(wrapper.find('script').exists()).toBe(false)
    expect(wrapper.find('img').exists()).toBe(false)
    const red = wrapper.findAll('span').find((span) => span.text().startsWith('<img'))
    expect(red?.attributes('style')).toContain('color: var(--ansi-1)')
  })

  it('wraps marked segments in <mark>', () => {
    const wrapper = mount(AnsiText, {
      props: { segments: [{ ...parseAnsi('a')[0]!, text: 'hit', mark: true }] },
    })
    expect(wrapper.find('mark').text()).toBe('hit')
  })
})
