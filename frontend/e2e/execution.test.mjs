// Running bots and following their output live, against a real backend and the fake CLIs.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  assertConsecutiveFromOne,
  assertNoProblems,
  logLines,
  readLogRecord,
  recordLogLines,
  screenshotBoth,
  statusOf,
  waitForLineCount,
  waitForStatus,
} from './browser.mjs'
import { createBot, runBot, setupSuite, withPage } from './suite.mjs'

const env = setupSuite()

/** The execution id in an /executions/<id> URL. */
function executionIdOf(url) {
  return new URL(url).pathname.split('/').pop()
}

test('Run now opens the execution, whose lines arrive live and in order, then it succeeds', { timeout: 60_000 }, async (t) => {
  const LINES = 40
  const bot = await createBot(env.server, { prompt_template: `fake: lines ${LINES} rate=20\n{message}\n` })
  await withPage(env, t, async ({ page, problems, context }) => {
    await recordLogLines(context)
    await page.goto(`${env.server.url}/bots/${bot.id}`)
    await page.getByTestId('run-message').fill('hello from the browser test')
    await page.getByTestId('run-button').click()
    await page.waitForURL('**/executions/*')
    const executionId = executionIdOf(page.url())

    // Live: a few lines are on screen while the badge still says running.
    await waitForLineCount(page, 5)
    assert.equal(await statusOf(page), 'running')
    const early = await logLines(page)
    assert.ok(early.length < LINES, `the run should still be going, but all ${early.length} lines are there`)
    assertConsecutiveFromOne(early.map((line) => line.seq), 'lines shown while running')
    await page.getByTestId('connection-state').filter({ hasText: 'Live' }).waitFor()

    await waitForStatus(page, 'success', 20_000)
    const lines = await logLines(page)
    assertConsecutiveFromOne(lines.map((line) => line.seq), 'final lines')
    assert.equal(lines.length, LINES)
    lines.forEach((line, index) => {
      assert.match(line.text, new RegExp(`^line ${index + 1} t=`))
      assert.equal(line.stream, 'stdout')
    })

    // Every line entered the page once, in seq order, most of them while the run was live.
    const record = await readLogRecord(page)
    assertConsecutiveFromOne(record.added.map((entry) => entry.seq), 'lines in order of arrival')
    assert.equal(record.removed, 0, 'no line was taken out of the page again')
    const live = record.added.filter((entry) => entry.status === 'running').length
    assert.ok(live >= LINES / 2, `only ${live} of ${LINES} lines arrived while the badge said running`)

    assert.equal(await page.getByTestId('cancel-button').count(), 0, 'no cancel button once finished')
    assert.equal((await page.getByTestId('execution-exit-code').textContent()).trim(), '0')
    const stored = await env.server.api('GET', `/admin/executions/${executionId}`)
    assert.equal(stored.status, 'success')
    assert.match(stored.prompt, /hello from the browser test/)
    await screenshotBoth(page, 'execution-finished')
    assertNoProblems(problems)
  })
})

test('Cancel stops a long run and the execution ends cancelled', { timeout: 60_000 }, async (t) => {
  const bot = await createBot(env.server, { prompt_template: 'fake: lines 5 rate=50\nfake: sleep 60\n' })
  await withPage(env, t, async ({ page, problems }) => {
    await page.goto(`${env.server.url}/bots/${bot.id}`)
    await page.getByTestId('run-button').click()
    await page.waitForURL('**/executions/*')
    const executionId = executionIdOf(page.url())
    await waitForLineCount(page, 5)
    await waitForStatus(page, 'running')
    await page.getByTestId('connection-state').filter({ hasText: 'Live' }).waitFor()
    await screenshotBoth(page, 'execution-live')

    const cancelled = page.waitForResponse((r) => r.url().endsWith(`/admin/executions/${executionId}/cancel`))
    await page.getByTestId('cancel-button').click()
    assert.equal((await cancelled).status(), 202)
    await waitForStatus(page, 'cancelled')
    await page.getByTestId('execution-error').filter({ hasText: 'cancelled by a user' }).waitFor()
    assert.equal(await page.getByTestId('cancel-button').count(), 0, 'no cancel button once finished')
    assertConsecutiveFromOne((await logLines(page)).map((line) => line.seq))
    assert.equal((await env.server.api('GET', `/admin/executions/${executionId}`)).status, 'cancelled')
    assertNoProblems(problems)
  })
})

test('after a reload mid-run the log has every line from 1 and keeps growing live to the end', { timeout: 60_000 }, async (t) => {
  const LINES = 40
  const bot = await createBot(env.server, { prompt_template: `fake: lines ${LINES} rate=10\n` })
  const executionId = await runBot(env.server, bot.id)
  await withPage(env, t, async ({ page, problems, context }) => {
    await recordLogLines(context)
    await page.goto(`${env.server.url}/executions/${executionId}`)
    await waitForLineCount(page, 8)
    assert.equal(await statusOf(page), 'running')

    await page.reload()
    await waitForLineCount(page, 1)
    const firstView = await logLines(page)
    assert.equal(await statusOf(page), 'running', 'the run should still be going after the reload')
    // Stored lines come first (the database may be a moment behind the live stream), the rest follow live.
    assert.ok(firstView.length < LINES, `all ${firstView.length} lines were there right after the reload`)
    assertConsecutiveFromOne(firstView.map((line) => line.seq), 'lines right after the reload')

    await waitForStatus(page, 'success', 20_000)
    const lines = await logLines(page)
    assertConsecutiveFromOne(lines.map((line) => line.seq), 'final lines')
    assert.equal(lines.length, LINES)

    // Since the reload: each line entered the page once, in order, and later lines arrived live.
    const record = await readLogRecord(page)
    assertConsecutiveFromOne(record.added.map((entry) => entry.seq), 'lines in order of arrival since the reload')
    assert.equal(record.removed, 0)
    const liveAfterReload = record.added.filter((entry) => entry.seq > firstView.length && entry.status === 'running')
    assert.ok(liveAfterReload.length > 0, 'no line arrived live after the reload')
    assertNoProblems(problems)
  })
})

test('stderr lines are marked and ANSI colours render as styled text', { timeout: 60_000 }, async (t) => {
  const ESC = '\u001b'
  const template = [
    'fake: print plain stdout line',
    'fake: stderr warning: something on stderr',
    `fake: print ${ESC}[31mred${ESC}[0m and ${ESC}[1;32mbold green${ESC}[0m done`,
    '',
  ].join('\n')
  const bot = await createBot(env.server, { prompt_template: template })
  // The template carries the escape character through the API unchanged.
  assert.equal((await env.server.api('GET', `/admin/triggers/${bot.id}`)).prompt_template, template)
  const executionId = await runBot(env.server, bot.id)

  await withPage(env, t, async ({ page, problems }) => {
    await page.goto(`${env.server.url}/executions/${executionId}`)
    await waitForStatus(page, 'success', 20_000)
    await waitForLineCount(page, 3)
    const lines = await logLines(page)
    assert.equal(lines.length, 3)
    assertConsecutiveFromOne([...lines.map((line) => line.seq)])

    const rows = page.getByTestId('log-line')
    const stderrRow = rows.filter({ hasText: 'something on stderr' })
    const plainRow = rows.filter({ hasText: 'plain stdout line' })
    const colourRow = rows.filter({ hasText: 'bold green' })

    // stderr: data attribute, class and a visible difference (a red left border) from stdout.
    assert.equal(await stderrRow.getAttribute('data-stream'), 'stderr')
    assert.equal(await plainRow.getAttribute('data-stream'), 'stdout')
    assert.equal(await colourRow.getAttribute('data-stream'), 'stdout')
    assert.match(await stderrRow.getAttribute('class'), /\blog__line--stderr\b/)
    assert.doesNotMatch(await plainRow.getAttribute('class'), /\blog__line--stderr\b/)
    const borderOf = (row) => row.evaluate((el) => getComputedStyle(el).borderLeftColor)
    assert.equal(await borderOf(stderrRow), 'rgb(255, 138, 128)')
    assert.equal(await borderOf(plainRow), 'rgba(0, 0, 0, 0)')
    assert.match(await stderrRow.textContent(), /stderr: warning: something on stderr/, 'screen readers hear "stderr:"')

    // ANSI: no escape characters left, coloured spans with the palette's colours.
    const text = await colourRow.locator('.log__text').textContent()
    assert.equal(text, 'red and bold green done')
    const spans = await colourRow.locator('.log__text span').evaluateAll((elements) =>
      elements
        .filter((el) => !el.classList.contains('visually-hidden'))
        .map((el) => ({ text: el.textContent, color: getComputedStyle(el).color, weight: getComputedStyle(el).fontWeight })),
    )
    const red = spans.find((span) => span.text === 'red')
    const green = spans.find((span) => span.text === 'bold green')
    const plain = spans.find((span) => span.text === ' and ')
    assert.ok(red && green && plain, `unexpected spans: ${JSON.stringify(spans)}`)
    assert.equal(red.color, 'rgb(224, 108, 117)') // --ansi-1
    assert.equal(green.color, 'rgb(152, 195, 121)') // --ansi-2
    assert.equal(green.weight, '700')
    assert.notEqual(plain.color, red.color)
    assert.equal(plain.weight, '400')

    const stored = await env.server.api('GET', `/admin/executions/${executionId}`)
    assert.ok(stored.prompt.includes(`${ESC}[31mred`), 'the rendered prompt kept the escape character')
    await screenshotBoth(page, 'execution-stderr-ansi')
    assertNoProblems(problems)
  })
})
