// A claude run read as a conversation, live, against a real backend and the fake claude.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { assertNoProblems, screenshotBoth, statusOf, waitForLineCount, waitForStatus } from './browser.mjs'
import { REPO_DIR } from './server.mjs'
import { createBot, runBot, setupSuite, waitForFinish, withPage } from './suite.mjs'

const env = setupSuite()
/** Stretches the time budgets on a busy machine, as in logViewer.test.mjs (AGENTED_E2E_TIME_FACTOR). */
const FACTOR = Number(process.env.AGENTED_E2E_TIME_FACTOR ?? 1)

test('A claude run shows as a conversation live: Markdown, tool calls with command, diff and result, usage', { timeout: 90_000 }, async (t) => {
  // The fake prints its messages and tool calls, then waits for this file before its result.
  const dir = mkdtempSync(join(tmpdir(), 'agented-conversation-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const goOn = join(dir, 'go-on')
  const bot = await createBot(env.server, {
    backend_type: 'claude',
    prompt_template: `fake: tools\nfake: wait-for ${goOn}\nfake: result\n`,
  })
  await withPage(env, t, async ({ page, problems }) => {
    const executionId = await runBot(env.server, bot.id)
    await page.goto(`${env.server.url}/executions/${executionId}`)
    await page.getByTestId('tab-conversation').click()
    const conversation = page.getByTestId('conversation')

    // Live: the whole conversation so far is there while the run still goes on.
    const messages = conversation.getByTestId('conversation-message')
    await messages.filter({ hasText: 'stays text' }).waitFor()
    assert.equal(await statusOf(page), 'running')
    await page.getByTestId('connection-state').filter({ hasText: 'Live' }).waitFor()
    assert.equal(await messages.first().locator('strong').textContent(), 'README')
    assert.equal(await messages.first().locator('li').count(), 2, 'the Markdown list is a list')
    assert.match(await messages.last().textContent(), /Done\. <script>alert\(1\)<\/script> stays text\./)

    const [shell, edit] = await conversation.getByTestId('conversation-tool').all()
    assert.equal((await shell.getByTestId('tool-state').textContent()).trim(), 'done')
    await shell.locator('summary').click()
    assert.equal((await shell.getByTestId('tool-command').textContent()).trim(), '$ ls -1')
    assert.equal(await shell.getByTestId('tool-output').textContent(), 'README.md\nsrc')
    // A failed edit starts open, as a diff, with its error.
    assert.equal(await edit.getAttribute('open'), '')
    assert.equal(await edit.locator('.diff__line--del').textContent(), '-Hello')
    assert.equal(await edit.locator('.diff__line--add').textContent(), '+Hello, world')
    assert.equal(await edit.getByTestId('tool-output').textContent(), 'File has not been read yet')
    assert.ok((await conversation.getByTestId('conversation-turn-usage').count()) >= 2, 'usage per turn')
    await screenshotBoth(page, 'conversation-live')

    // The run's result arrives on the same stream: the totals, with the cost.
    writeFileSync(goOn, '')
    await waitForStatus(page, 'success', 20_000)
    const totals = conversation.getByTestId('conversation-totals')
    await totals.filter({ hasText: '$0.0456' }).waitFor()
    assert.match(await totals.textContent(), /90 in · 36 out · 300 cache read · \$0\.0456/)

    // The raw log is one click away; the page opens with the conversation now, read from storage.
    await page.getByTestId('tab-log').click()
    await waitForLineCount(page, 8)
    await page.getByTestId('tab-conversation').click()
    await page.reload()
    await conversation.getByTestId('conversation-totals').filter({ hasText: '$0.0456' }).waitFor()
    assert.equal(await conversation.getByTestId('conversation-tool').count(), 2)
    assert.equal(await conversation.getByTestId('conversation-message').count(), 2)
    assertNoProblems(problems)
  })
})

test('a conversation of thousands of events opens fast, draws only what is on screen and scrolls to its end', { timeout: 120_000 }, async (t) => {
  const TURNS = 3000 // a message, a shell command with its output and the turn's tokens each
  const bot = await createBot(env.server, { backend_type: 'claude', prompt_template: 'fake: result\n' })
  const executionId = await runBot(env.server, bot.id)
  await waitForFinish(env.server, executionId)
  const backend = join(REPO_DIR, 'backend')
  await promisify(execFile)(
    join(backend, '.venv', 'bin', 'python'),
    ['-m', 'tests.support.seed_log', join(env.server.dataDir, 'agented.db'), executionId, String(TURNS * 3), 'claude'],
    { cwd: backend, timeout: 60_000 },
  )
  await withPage(env, t, async ({ page, problems, context }) => {
    await page.goto(`${env.server.url}/executions/${executionId}`)
    await page.getByTestId('tab-log').waitFor()
    await page.evaluate(() => {
      window.__longTasks = []
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) window.__longTasks.push(Math.round(entry.duration))
      }).observe({ type: 'longtask' })
    })
    const clicked = Date.now()
    await page.getByTestId('tab-conversation').click()
    const messages = page.getByTestId('conversation-message')
    await messages.filter({ hasText: 'Turn 0:' }).waitFor()
    const openMs = Date.now() - clicked
    const drawn = await page.locator('.conversation__blocks > li').count()
    assert.ok(drawn < 200, `${drawn} blocks in the DOM for a screenful`)
    // A tool call the user opened stays open after it was scrolled out of the DOM and back.
    const firstCall = page.getByTestId('conversation-tool').first()
    await firstCall.locator('summary').click()
    assert.equal(await firstCall.getByTestId('tool-command').textContent(), '$ cat file0.txt')

    // The end is reached by scrolling; the blocks drawn there are the last ones.
    const scrolled = Date.now()
    await page.getByTestId('conversation-blocks').evaluate((box) => (box.scrollTop = box.scrollHeight))
    await page.waitForFunction(
      (last) => {
        const box = document.querySelector('[data-testid="conversation-blocks"]')
        box.scrollTop = box.scrollHeight // the heights of the blocks drawn there are measured now
        return [...box.querySelectorAll('[data-testid="conversation-message"]')].some((el) => el.textContent.includes(last))
      },
      `Turn ${TURNS - 1}:`,
      { polling: 'raf', timeout: 15_000 },
    )
    const endMs = Date.now() - scrolled
    assert.ok((await page.locator('.conversation__blocks > li').count()) < 200)
    await page.getByTestId('conversation-blocks').evaluate((box) => (box.scrollTop = 0))
    await page.getByTestId('conversation-message').filter({ hasText: 'Turn 0:' }).waitFor()
    assert.equal(await page.getByTestId('conversation-tool').first().getAttribute('open'), '')

    const cdp = await context.newCDPSession(page)
    await cdp.send('HeapProfiler.collectGarbage')
    const { usedSize } = await cdp.send('Runtime.getHeapUsage')
    await cdp.detach()
    const heap = usedSize / 1024 / 1024
    const tasks = await page.evaluate(() => window.__longTasks)
    console.log(
      `# conversation of ${TURNS * 3} events: first turn shown ${openMs} ms after the click (read page by page from the ` +
        `server), ${drawn} blocks drawn; its end reached ${endMs} ms after scrolling; heap ${heap.toFixed(1)} MB; ` +
        `long tasks ${JSON.stringify(tasks)}`,
    )
    assert.ok(heap <= 100, `JS heap ${heap.toFixed(1)} MB`)
    assert.ok(openMs <= 1000 * FACTOR, `the first turn showed ${openMs} ms after the click`)
    // The 50 ms budget is the log page's (logViewer.test.mjs); here a quiet machine shows no
    // long task at all, and the bound only catches drawing that grows with the conversation.
    const longest = Math.max(0, ...tasks)
    assert.ok(longest <= 100 * FACTOR, `the page was blocked for ${longest} ms`)
    assertNoProblems(problems)
  })
})
