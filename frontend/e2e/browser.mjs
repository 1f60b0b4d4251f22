/**
 * The browser side of the e2e tests: Debian's Chromium driven by playwright-core
 * (no browser is ever downloaded), pages that record console errors and
 * uncaught exceptions, screenshots, and small waiting helpers.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import { FRONTEND_DIR } from './server.mjs'

export const CHROMIUM = process.env.AGENTED_E2E_CHROMIUM || '/usr/bin/chromium'
export const SCREENSHOT_DIR = join(FRONTEND_DIR, 'screenshots')

export const DESKTOP = { name: 'desktop', width: 1280, height: 800 }
export const PHONE = { name: 'phone', width: 390, height: 844 }

/** Default bound of every Playwright wait (actions, selectors, navigation). */
export const WAIT_MS = 15_000

/**
 * Chromium features turned off. Chromium reads only the last `--disable-features`, so this one
 * repeats the list playwright-core passes (1.65.1, chromiumSwitches.ts) and adds ours: since
 * Chromium 15x every new window (each test's context) preloads the address bar's WebUI popup in a
 * renderer of its own, ~250 ms of CPU that competed with the page under test on a 2-core machine
 * (the long-task budgets failed by it, 60–120 ms tasks instead of none).
 */
const DISABLED_FEATURES = [
  // playwright-core's
  'AvoidUnnecessaryBeforeUnloadCheckSync',
  'DestroyProfileOnBrowserClose',
  'HttpsUpgrades',
  'HttpsFirstBalancedModeAutoEnable',
  'LensOverlay',
  'MediaRouter',
  'PaintHolding',
  'ThirdPartyStoragePartitioning',
  'AvoidCorsURLLoaderRestartOnRedirect',
  'TcpPortRandomizationWin',
  'OptimizationHints',
  'NetworkTimeServiceQuerying',
  'AimEnabled',
  'PreconnectToSearch',
  // ours: no browser UI the tests never show
  'PreloadTopChromeWebUI',
  'WebUIOmniboxPopup',
  'WebUIOmniboxAimPopup',
  'WebUIOmniboxFullPopup',
]

export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: install Chromium (apt-get install -y chromium); tests never download a browser`)
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    timeout: 30_000,
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--disable-features=${DISABLED_FEATURES.join(',')}`,
    ],
  })
}

/**
 * A page in a fresh context, with everything that went wrong in it collected:
 * `problems.console` (console messages of type error) and `problems.page`
 * (uncaught exceptions). `storageState` (Playwright's format) pre-fills
 * cookies and localStorage.
 */
export async function openPage(browser, viewport = DESKTOP, storageState = undefined) {
  const context = await browser.newContext({
    viewport: { width: viewport.width, height: viewport.height },
    reducedMotion: 'reduce',
    colorScheme: 'light',
    storageState,
  })
  context.setDefaultTimeout(WAIT_MS)
  context.setDefaultNavigationTimeout(WAIT_MS)
  const page = await context.newPage()
  const problems = { console: [], page: [] }
  page.on('console', (message) => {
    if (message.type() === 'error') {
      const where = message.location()?.url ?? ''
      problems.console.push(`${message.text()}${where ? ` (${where})` : ''}`)
    }
  })
  page.on('pageerror', (error) => problems.page.push(String(error?.stack ?? error)))
  return { context, page, problems }
}

/**
 * Fails on any uncaught exception, and on any console error that none of
 * `allowed` (regexes, e.g. for an expected 400 response) explains.
 */
export function assertNoProblems(problems, allowed = []) {
  const unexplained = problems.console.filter((text) => !allowed.some((pattern) => pattern.test(text)))
  assert.deepEqual(problems.page, [], 'uncaught exceptions in the page')
  assert.deepEqual(unexplained, [], 'console errors in the page')
}

/** A full-page screenshot in frontend/screenshots/<name>-<viewport>.png. */
export async function screenshot(page, name) {
  mkdirSync(SCREENSHOT_DIR, { recursive: true })
  const { width } = page.viewportSize()
  const label = width <= PHONE.width ? PHONE.name : width >= DESKTOP.width ? DESKTOP.name : String(width)
  const path = join(SCREENSHOT_DIR, `${name}-${label}.png`)
  await page.screenshot({ path, fullPage: true, animations: 'disabled', caret: 'hide' })
  return path
}

/**
 * Fails if the page is wider than the viewport (the whole page would scroll
 * sideways) or if any element's content is wider than its box (text running
 * out of a card, a table that only fits by scrolling its wrapper). Elements
 * that scroll sideways by design (the phone nav bar, the log) are exempt.
 */
export async function assertNothingOverflows(page, label = '') {
  const found = await page.evaluate(() => {
    const exempt = 'nav.nav, [data-testid="log-lines"]'
    const describe = (el) =>
      `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${
        typeof el.className === 'string' && el.className.trim() ? `.${el.className.trim().split(/\s+/).join('.')}` : ''
      }${el.dataset.testid ? `[data-testid=${el.dataset.testid}]` : ''}`
    const problems = []
    const root = document.documentElement
    if (root.scrollWidth > root.clientWidth) {
      problems.push(`the page is ${root.scrollWidth}px wide in a ${root.clientWidth}px viewport`)
    }
    for (const el of document.body.querySelectorAll('*')) {
      if (el.closest(exempt) || el.clientWidth === 0) continue
      const style = getComputedStyle(el)
      if (style.clip !== 'auto' || style.display === 'none' || style.display === 'contents') continue
      if (el.scrollWidth > el.clientWidth + 1) {
        problems.push(`${describe(el)} holds ${el.scrollWidth}px of content in ${el.clientWidth}px: "${el.textContent.trim().slice(0, 60)}"`)
      }
    }
    return problems
  })
  assert.deepEqual(found, [], `${label || page.url()}: content overflows`)
}

/**
 * Screenshots at desktop and phone widths (scrolled to the top, so sticky
 * navigation sits where it belongs), checking at each that nothing overflows
 * (see assertNothingOverflows); the page ends at the viewport it had.
 */
export async function screenshotBoth(page, name, ready = async () => {}) {
  const original = page.viewportSize()
  try {
    for (const viewport of [DESKTOP, PHONE]) {
      await page.setViewportSize({ width: viewport.width, height: viewport.height })
      await ready()
      await page.evaluate(() => window.scrollTo(0, 0))
      await screenshot(page, name)
      await assertNothingOverflows(page, `${name} at ${viewport.name} width`)
    }
  } finally {
    await page.setViewportSize(original)
  }
}

/** The log lines the page shows, in DOM order: `[{ seq, stream, text }]`. */
export function logLines(page) {
  return page.$$eval('[data-testid="log-line"]', (rows) =>
    rows.map((row) => ({
      seq: Number(row.getAttribute('data-seq')),
      stream: row.getAttribute('data-stream'),
      text: row.querySelector('.log__text')?.textContent ?? '',
    })),
  )
}

/** The execution's status as its badge shows it. */
export function statusOf(page) {
  return page.getAttribute('[data-testid="status-badge"]', 'data-status')
}

/** Waits until the status badge shows `status` (one of them, for an array). */
export async function waitForStatus(page, status, timeout = WAIT_MS) {
  const wanted = Array.isArray(status) ? status : [status]
  await page.waitForFunction(
    (statuses) => statuses.includes(document.querySelector('[data-testid="status-badge"]')?.getAttribute('data-status')),
    wanted,
    { timeout, polling: 50 },
  )
}

/** Waits until at least `count` log lines are shown. */
export async function waitForLineCount(page, count, timeout = WAIT_MS) {
  await page.waitForFunction(
    (min) => document.querySelectorAll('[data-testid="log-line"]').length >= min,
    count,
    { timeout, polling: 50 },
  )
}

/** Asserts that `seqs` is exactly 1, 2, …, n (no gap, no duplicate, in order). */
export function assertConsecutiveFromOne(seqs, message = 'log seq numbers') {
  const expected = Array.from({ length: seqs.length }, (_, index) => index + 1)
  assert.deepEqual(seqs, expected, `${message} are not 1..${seqs.length} in order: ${JSON.stringify(seqs)}`)
}

/**
 * Makes every page of `context` record each log line the moment it enters the
 * DOM: `{ seq, status }` in arrival order, with the status the badge showed
 * then. Read it with `readLogRecord(page)`; it restarts with each page load.
 */
export async function recordLogLines(context) {
  await context.addInitScript(() => {
    const record = { added: [], removed: 0 }
    window.__logRecord = record
    const status = () => document.querySelector('[data-testid="status-badge"]')?.getAttribute('data-status') ?? null
    const isLine = (node) => node.nodeType === 1 && node.matches('[data-testid="log-line"]')
    const note = (node) => record.added.push({ seq: Number(node.getAttribute('data-seq')), status: status() })
    new MutationObserver((mutations) => {
      for (const mutation of mutations) {
        for (const node of mutation.addedNodes) {
          if (node.nodeType !== 1) continue
          if (isLine(node)) note(node)
          else node.querySelectorAll('[data-testid="log-line"]').forEach(note)
        }
        for (const node of mutation.removedNodes) {
          if (node.nodeType !== 1) continue
          record.removed += isLine(node) ? 1 : node.querySelectorAll('[data-testid="log-line"]').length
        }
      }
    }).observe(document, { childList: true, subtree: true })
  })
}

/** What `recordLogLines` saw on the current page: `{ added: [{ seq, status }], removed }`. */
export function readLogRecord(page) {
  return page.evaluate(() => window.__logRecord ?? { added: [], removed: 0 })
}
