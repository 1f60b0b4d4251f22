// Reading a 1,000,000-line log: open time, long tasks, heap, scrolling anywhere, search, line links;
// and how a line is drawn (`\r` progress, 256-colour and true-colour ANSI, links).
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { assertNoProblems, screenshotBoth, waitForStatus } from './browser.mjs'
import { REPO_DIR } from './server.mjs'
import { createBot, runBot, setupSuite, waitForFinish, withPage } from './suite.mjs'

const LINES = 1_000_000
/**
 * The time budgets are the (1 s to open, 50 ms tasks, 1 s jumps) on a machine that runs
 * only this; on a shared, busy one every wall-clock figure stretches, and AGENTED_E2E_TIME_FACTOR
 * (e.g. 3) stretches the budgets with it. The figures are printed either way.
 */
const FACTOR = Number(process.env.AGENTED_E2E_TIME_FACTOR ?? 1)
const within = (ms, budget) => ms <= budget * FACTOR
/** The search's wait for a pause in the typing (SEARCH_DEBOUNCE_MS in src/composables/useLogSearch.ts). */
const SEARCH_PAUSE_MS = 150
const MARKER = 'UNIQUE-MARKER' // backend/tests/support/seed_log.py puts it on line LINES * 7 / 9
const MARKER_SEQ = Math.floor((LINES * 7) / 9)
const BACKEND_DIR = join(REPO_DIR, 'backend')

/** What seed_log.py stores as line `seq` (the plain text, escape codes left out). */
function seededText(seq) {
  if (seq === MARKER_SEQ) return `${seq} ${MARKER} found here`
  if (seq % 1000 === 0) return `${seq} checkpoint see https://example.com/builds/${seq}`
  return `${seq} step ${seq % 97} compiling module m${seq % 1013} ok`
}

const env = setupSuite(async ({ server }) => {
  const bot = await createBot(server, { prompt_template: 'fake: lines 1 rate=1000\n' })
  env.executionId = await runBot(server, bot.id)
  await waitForFinish(server, env.executionId)
  const started = Date.now()
  await promisify(execFile)(
    join(BACKEND_DIR, '.venv', 'bin', 'python'),
    ['-m', 'tests.support.seed_log', join(server.dataDir, 'agented.db'), env.executionId, String(LINES)],
    { cwd: BACKEND_DIR, timeout: 110_000 },
  )
  console.log(`# seeded ${LINES} lines in ${Date.now() - started} ms`)
})

/** Records every long task (> 50 ms of the main thread) from the first moment of each page. */
async function recordLongTasks(context) {
  await context.addInitScript(() => {
    window.__longTasks = []
    window.__noteLongTasks = (entries) => {
      for (const entry of entries) window.__longTasks.push({ start: Math.round(entry.startTime), ms: Math.round(entry.duration) })
    }
    window.__longTaskObserver = new PerformanceObserver((list) => window.__noteLongTasks(list.getEntries()))
    window.__longTaskObserver.observe({ type: 'longtask', buffered: true })
  })
}

/** In the page: whether row `wanted` is on screen with its text loaded. */
function lineShown(wanted) {
  const scroller = document.querySelector('[data-testid="log-lines"]')?.getBoundingClientRect()
  const row = document.querySelector(`[data-testid="log-line"][data-seq="${wanted}"]:not(.log__line--pending)`)
  const box = row?.getBoundingClientRect()
  return Boolean(scroller && box && box.top >= scroller.top - 1 && box.bottom <= scroller.bottom + 1)
}

/**
 * In the page, from its first moment: once row `wanted` is shown (`shown(wanted)`), reports the
 * times and the long tasks up to the page's next idle moment to the test's binding.
 */
function reportOpening(shown, wanted) {
  if (window !== window.top) return
  const look = () => {
    if (!shown(wanted)) return void requestAnimationFrame(look)
    const now = performance.now()
    const asked = performance.getEntriesByType('resource').find((entry) => entry.name.includes('before_seq='))
    const figures = { pageMs: Math.round(now), openMs: Math.round(now - asked.startTime) }
    // Opening ends once the page has nothing left to do (start-up work it put off included).
    requestIdleCallback(
      () => {
        window.__noteLongTasks(window.__longTaskObserver.takeRecords())
        window.__openedForTest({ ...figures, tasks: [...window.__longTasks] })
      },
      { timeout: 2000 },
    )
  }
  requestAnimationFrame(look)
}

/**
 * Opens `url` and measures, in the page itself, when row `seq` is on screen with its text loaded
 * (from the page's start, and from the moment the page asked for the log) and every long task
 * until the page is idle afterwards. Nothing of the test runs in the page meanwhile: Playwright
 * evaluates a large script of its own in a page on first use (20–70 ms), which a user's browser
 * never does and which would be counted as the app's.
 */
async function openMeasured(context, page, url, seq) {
  let report
  const reported = new Promise((resolve) => (report = resolve))
  await context.exposeBinding('__openedForTest', (_source, figures) => report(figures))
  await recordLongTasks(context)
  await context.addInitScript({ content: `(${reportOpening})(${lineShown}, ${JSON.stringify(seq)})` })
  await page.goto(url)
  let timer
  const timedOut = new Promise((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`line ${seq} was not on screen within 15 s`)), 15_000)
  })
  try {
    return await Promise.race([reported, timedOut])
  } finally {
    clearTimeout(timer)
  }
}

const longTasks = (page) => page.evaluate(() => window.__longTasks)

/**
 * Waits until row `seq` is on screen with its text loaded; returns that text. It looks every
 * frame (a locator's wait looks less and less often), so the times measured with it are exact
 * to a frame.
 */
async function waitForLine(page, seq, timeout = 10_000) {
  await page.waitForFunction(lineShown, seq, { timeout, polling: 'raf' })
  const row = page.locator(`[data-testid="log-line"][data-seq="${seq}"]`)
  return (await row.locator('.log__text').textContent()).replace(/^stderr: /, '')
}

async function heapMegabytes(context, page) {
  const cdp = await context.newCDPSession(page)
  await cdp.send('HeapProfiler.collectGarbage')
  const { usedSize } = await cdp.send('Runtime.getHeapUsage')
  await cdp.detach()
  return usedSize / 1024 / 1024
}

const scrollTo = (page, fraction) =>
  page.$eval(
    '[data-testid="log-lines"]',
    (el, at) => {
      el.scrollTop = (el.scrollHeight - el.clientHeight) * at
    },
    fraction,
  )

test('a finished 1,000,000-line log opens at its end within a second and scrolls anywhere', { timeout: 120_000 }, async (t) => {
  await withPage(env, t, async ({ page, problems, context }) => {
    const url = `${env.server.url}/executions/${env.executionId}`
    const { pageMs, openMs, tasks: openTasks } = await openMeasured(context, page, url, LINES)
    assert.equal(await waitForLine(page, LINES), seededText(LINES))
    const longestOpening = Math.max(0, ...openTasks.map((task) => task.ms))
    await page.evaluate(() => (window.__longTasks = []))
    await waitForStatus(page, 'success')
    assert.equal((await page.getByTestId('log-line-count').textContent()).trim(), '1,000,000 lines')
    const domRows = await page.locator('[data-testid="log-line"]').count()
    assert.ok(domRows < 200, `${domRows} rows in the DOM for a screenful`)

    // The top, the middle, and back.
    await scrollTo(page, 0)
    assert.equal(await waitForLine(page, 1), seededText(1))
    await scrollTo(page, 0.5)
    // The row in the middle of the screen, once the rows there have been drawn.
    const middle = await (
      await page.waitForFunction(() => {
        const scroller = document.querySelector('[data-testid="log-lines"]')
        const box = scroller.getBoundingClientRect()
        const centre = box.top + box.height / 2
        const row = [...scroller.querySelectorAll('[data-testid="log-line"]')].find(
          (el) => el.getBoundingClientRect().top <= centre && el.getBoundingClientRect().bottom > centre,
        )
        const seq = Number(row?.getAttribute('data-seq'))
        return seq > 1000 ? seq : null
      })
    ).jsonValue()
    assert.ok(Math.abs(middle - LINES / 2) < 1000, `the middle of the scroll range shows line ${middle}`)
    assert.equal(await waitForLine(page, middle), seededText(middle))
    await page.getByTestId('log-jump-latest').click()
    assert.equal(await waitForLine(page, LINES), seededText(LINES))

    const heap = await heapMegabytes(context, page)
    const tasks = await longTasks(page)
    const longest = Math.max(0, ...tasks.map((task) => task.ms))
    console.log(
      `# open: last screen ${openMs} ms after asking for it (${pageMs} ms after the page started); ` +
        `long tasks while opening, app start-up included ${JSON.stringify(openTasks)} (longest ${longestOpening} ms)`,
    )
    console.log(`# scrolling to line 1, the middle and back: long tasks ${JSON.stringify(tasks)} (longest ${longest} ms); heap ${heap.toFixed(1)} MB`)
    assert.ok(within(openMs, 1000), `the last screen showed ${openMs} ms after it was asked for`)
    assert.ok(heap <= 100, `JS heap ${heap.toFixed(1)} MB`)
    assert.ok(within(longestOpening, 50), `the page was blocked for ${longestOpening} ms while opening`)
    assert.ok(within(longest, 50), `the page was blocked for ${longest} ms while scrolling`)
    assertNoProblems(problems)
  })
})

test('search finds a line anywhere in the million, steps through matches and can show only them', { timeout: 120_000 }, async (t) => {
  await withPage(env, t, async ({ page, problems, context }) => {
    await recordLongTasks(context)
    await page.goto(`${env.server.url}/executions/${env.executionId}`)
    await waitForLine(page, LINES)
    await page.evaluate(() => (window.__longTasks = [])) // opening is measured by the test above

    await scrollTo(page, 0)
    await waitForLine(page, 1)
    const typed = Date.now()
    await page.getByTestId('log-search').fill(MARKER.toLowerCase())
    await waitForLine(page, MARKER_SEQ)
    const firstSearchMs = Date.now() - typed
    await page.getByTestId('log-match-count').filter({ hasText: '1 of 1 matching line' }).waitFor()
    const countMs = Date.now() - typed
    const row = page.locator(`[data-seq="${MARKER_SEQ}"]`)
    assert.match(await row.getAttribute('class'), /log__line--current/)
    assert.equal(await row.locator('mark').textContent(), MARKER)
    // The mark is readable: its colours have a contrast of at least 4.5:1.
    const contrast = await row.locator('mark').evaluate((mark) => {
      const rgb = (text) => text.match(/\d+/g).slice(0, 3).map(Number)
      const luminance = ([r, g, b]) => {
        const channel = (c) => ((c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4)
        return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
      }
      const style = getComputedStyle(mark)
      const [a, b] = [luminance(rgb(style.color)), luminance(rgb(style.backgroundColor))].sort((x, y) => y - x)
      return (a + 0.05) / (b + 0.05)
    })
    assert.ok(contrast >= 4.5, `highlight contrast ${contrast.toFixed(2)}:1`)

    // Every 1000th line says "checkpoint": from the top, the first match is line 1000; Shift+Enter
    // wraps around to the last match, a million lines away, and Enter steps back and on.
    await scrollTo(page, 0)
    await waitForLine(page, 1)
    await page.getByTestId('log-search').fill('checkpoint')
    await page.getByTestId('log-match-count').filter({ hasText: '1 of 1,000 matching lines' }).waitFor()
    const current = async () => Number(await page.locator('.log__line--current').getAttribute('data-seq'))
    const isCurrent = (seq) =>
      page.waitForFunction((wanted) => document.querySelector('.log__line--current')?.getAttribute('data-seq') === String(wanted), seq)
    assert.equal(await current(), 1000)
    const jumped = Date.now()
    await page.getByTestId('log-search').press('Shift+Enter')
    await isCurrent(LINES)
    await waitForLine(page, LINES)
    const jumpMs = Date.now() - jumped
    await page.getByTestId('log-match-count').filter({ hasText: '1,000 of 1,000 matching lines' }).waitFor()
    await page.getByTestId('log-search').press('Enter')
    await isCurrent(1000)
    await page.getByTestId('log-search').press('Enter')
    await isCurrent(2000)

    // Only matching lines: the place is kept, and only checkpoints are shown.
    const before = await current()
    await page.getByTestId('log-only-matches').check()
    await page.waitForFunction(() => document.querySelector('[data-testid="log-line"]')?.getAttribute('data-seq') !== null
      && [...document.querySelectorAll('[data-testid="log-line"]')].every((row) => Number(row.getAttribute('data-seq')) % 1000 === 0))
    await waitForLine(page, before) // the current match stays in view
    const shown = await page.$$eval('[data-testid="log-line"]:not(.log__line--pending)', (rows) => rows.map((row) => Number(row.getAttribute('data-seq'))))
    assert.ok(shown.every((seq) => seq % 1000 === 0), `only checkpoints: ${shown.slice(0, 10)}`)
    await page.getByTestId('log-only-matches').uncheck()
    await waitForLine(page, before)

    // A broken regular expression is refused by the server, named in words.
    await page.getByTestId('log-regex').check()
    await page.getByTestId('log-search').fill('(unclosed')
    await page.getByTestId('log-search-error').filter({ hasText: 'not a valid regular expression' }).waitFor()

    const tasks = await longTasks(page)
    const longest = Math.max(0, ...tasks.map((task) => task.ms))
    console.log(
      `# search: a new search of the million lines showed its match ${firstSearchMs} ms after typing (${SEARCH_PAUSE_MS} ms of it ` +
        `the typing pause) and had counted all matches after ${countMs} ms; the jump from the first match to the last took ` +
        `${jumpMs} ms; long tasks ${JSON.stringify(tasks)}`,
    )
    // The first search of a text scans the stored lines from the screen's line to the match
    // (0.78 of a million here) and goes before the count, which scans them all; every jump
    // after it is a lookup in the list of matches the server kept.
    assert.ok(within(firstSearchMs, 1000), `the first search took ${firstSearchMs} ms to show its match`)
    assert.ok(within(jumpMs, 1000), `the jump from the first match to the last took ${jumpMs} ms`)
    assert.ok(within(longest, 50), `the page was blocked for ${longest} ms`)
    assertNoProblems(problems, [/status of 400/])
  })
})

test('line links open highlighted and scrolled to, and shift-click selects a range', { timeout: 60_000 }, async (t) => {
  await withPage(env, t, async ({ page, problems }) => {
    await page.goto(`${env.server.url}/executions/${env.executionId}#L500010-L500020`)
    await waitForLine(page, 500_010)
    const selected = await page.$$eval('.log__line--selected', (rows) => rows.map((row) => Number(row.getAttribute('data-seq'))))
    assert.deepEqual(selected, Array.from({ length: 11 }, (_, i) => 500_010 + i))
    await page.getByTestId('log-jump-latest').waitFor() // a link does not follow the end

    await page.locator('[data-seq="500030"] [data-testid="log-line-number"]').click()
    await page.locator('[data-seq="500033"] [data-testid="log-line-number"]').click({ modifiers: ['Shift'] })
    assert.equal(new URL(page.url()).hash, '#L500030-L500033')
    assert.equal(await page.locator('.log__line--selected').count(), 4)
    assertNoProblems(problems)
  })
})

test('progress frames, 256 and true colours, links, times and wrapping are drawn as a terminal would', { timeout: 60_000 }, async (t) => {
  const ESC = '\u001b'
  const template = [
    'fake: print downloading 10%\rdownloading 55%\rdownloading 100%',
    `fake: print ${ESC}[38;5;208morange${ESC}[0m ${ESC}[48;2;10;20;200mblue${ESC}[0m ${ESC}[38;5;244mgrey${ESC}[0m`,
    'fake: print docs at https://example.com/guide?a=1, or javascript:alert(1)',
    `fake: print ${'x'.repeat(400)}`,
    '',
  ].join('\n')
  const bot = await createBot(env.server, { prompt_template: template })
  const executionId = await runBot(env.server, bot.id)
  await waitForFinish(env.server, executionId)
  await withPage(env, t, async ({ page, problems }) => {
    await page.goto(`${env.server.url}/executions/${executionId}`)
    await waitForLine(page, 1)
    const text = (seq) => page.locator(`[data-seq="${seq}"] .log__text`)
    assert.equal(await text(1).textContent(), 'downloading 100%')

    const colours = await text(2).locator('span').evaluateAll((spans) =>
      Object.fromEntries(spans.map((span) => [span.textContent, [getComputedStyle(span).color, getComputedStyle(span).backgroundColor]])),
    )
    assert.equal(colours.orange[0], 'rgb(255, 135, 0)') // 256-colour 208
    assert.equal(colours.blue[1], 'rgb(10, 20, 200)') // true colour background
    assert.equal(colours.grey[0], 'rgb(128, 128, 128)') // 256-colour grey ramp

    const links = await text(3).locator('a').evaluateAll((anchors) => anchors.map((a) => [a.textContent, a.href, a.rel, a.target]))
    assert.deepEqual(links, [['https://example.com/guide?a=1', 'https://example.com/guide?a=1', 'noopener noreferrer', '_blank']])

    // Wrapping: a long line wraps by default and scrolls sideways when wrapping is off.
    const height = () => page.locator('[data-seq="4"]').evaluate((row) => row.getBoundingClientRect().height)
    const wrapped = await height()
    await page.getByTestId('log-wrap').uncheck()
    const unwrapped = await height()
    assert.ok(wrapped > unwrapped * 1.5, `wrapped ${wrapped}px, unwrapped ${unwrapped}px`)
    assert.ok(await page.getByTestId('log-lines').evaluate((el) => el.scrollWidth > el.clientWidth))

    // Times: off by default, then the clock, then since the start.
    assert.equal(await page.getByTestId('log-time').count(), 0)
    await page.getByTestId('log-timestamps').selectOption('absolute')
    assert.match(await page.getByTestId('log-time').first().textContent(), /^\d\d:\d\d:\d\d\.\d{3}$/)
    await page.getByTestId('log-timestamps').selectOption('relative')
    assert.match(await page.getByTestId('log-time').first().textContent(), /^\+\d+:\d\d\.\d{3}$/)

    // The raw download keeps what the program printed, `\r` and escape codes included.
    const download = page.waitForEvent('download')
    await page.getByTestId('log-timestamps').selectOption('off')
    await page.getByTestId('log-download').click()
    const file = await download
    assert.match(file.suggestedFilename(), /\.log$/)
    const raw = await (await file.createReadStream()).toArray()
    assert.match(Buffer.concat(raw).toString(), /^downloading 10%\rdownloading 55%\rdownloading 100%\n/)
    await page.getByTestId('log-search').fill('orange')
    await page.getByTestId('log-match-count').filter({ hasText: '1 of 1 matching line' }).waitFor()
    await screenshotBoth(page, 'log-viewer')
    assertNoProblems(problems)
  })
})
