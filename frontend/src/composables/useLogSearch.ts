import { computed, onScopeDispose, ref, shallowRef, watch } from 'vue'
import { firstLogMatch, searchExecutionLog } from '@/api/client'
import type { LogEntry } from '@/api/types'
import { errorMessage, fieldErrorMessage } from '@/lib/errors'
import { regexMatcher, textMatcher, type Matcher } from '@/lib/highlight'
import { toLogLine, type LogLine } from '@/lib/logBuffer'

/** Wait this long after the last keystroke before searching (a pause between words is longer). */
export const SEARCH_DEBOUNCE_MS = 150
/** Matches asked for at once (a window of the server's list of matching seqs). */
const WINDOW = 200
/** Lines asked for around a first match: a screenful to show it in without asking again. */
const AROUND_FIRST = 120
/** Matches (and their lines) remembered; beyond this the memory starts over. */
const MAX_REMEMBERED = 20_000

interface Terms {
  q: string
  regex: boolean
  case_sensitive: boolean
}

/**
 * Search over the whole stored log, on the server: the query is sent once the
 * typing pauses, the answer is the number of matching lines and windows of
 * their seqs, fetched as they are needed. The current match moves with
 * next/previous (wrapping around); a new search starts at the first match at
 * or below `topSeq()`, the line at the top of the screen, as a browser's find
 * does. That match is asked for on its own, together with the count: the first
 * of a new text in a long log takes a scan of every line, and the jump does not
 * wait for it (`counting` until the count is in). For "only matching lines",
 * `lineAt(i)` gives the i-th matching line, fetched in windows by `ensure`.
 */
export function useLogSearch(
  executionId: string,
  topSeq: () => number,
  onJump: (seq: number) => void,
  /** Stored lines that came with an answer (those around a first match). */
  onLines: (lines: readonly LogEntry[]) => void = () => undefined,
) {
  const query = ref('')
  const regex = ref(false)
  const caseSensitive = ref(false)
  const total = ref<number | null>(null)
  const error = ref<string | null>(null)
  /** Until the first answer (the first match, or the count). */
  const searching = ref(false)
  /** Until the count is in. */
  const counting = ref(false)
  /** The number of the current match (0-based), -1 before the first jump. */
  const index = ref(-1)
  const currentSeq = ref<number | null>(null)
  /** Changes when windows arrive, so "only matching lines" re-reads them. */
  const version = shallowRef(0)

  const seqs = new Map<number, number>()
  const lines = new Map<number, LogLine>()
  const loading = new Set<number>()
  let terms: Terms | null = null
  let generation = 0
  let controller = new AbortController()
  let timer: ReturnType<typeof setTimeout> | null = null

  const active = computed(() => total.value !== null)
  const matcher = computed<Matcher | null>(() => {
    const text = query.value.trim()
    if (!text || error.value) return null
    return regex.value ? regexMatcher(text, caseSensitive.value) : textMatcher(text, caseSensitive.value)
  })

  function remember(offset: number, found: number[], withLines: LogLine[] | null): void {
    if (seqs.size > MAX_REMEMBERED) {
      seqs.clear()
      lines.clear()
    }
    found.forEach((seq, i) => seqs.set(offset + i, seq))
    if (withLines) {
      const bySeq = new Map(withLines.map((line) => [line.seq, line]))
      found.forEach((seq, i) => {
        const line = bySeq.get(seq)
        if (line) lines.set(offset + i, line)
      })
    }
    version.value += 1
  }

  async function fetchWindow(offset: number, withLines: boolean, at?: number): Promise<number> {
    if (!terms) return 0
    const mine = generation
    const answer = await searchExecutionLog(
      executionId,
      { ...terms, offset, at_seq: at ?? null, limit: WINDOW, lines: withLines },
      controller.signal,
    )
    if (mine !== generation) return -1
    total.value = answer.total
    remember(answer.offset, answer.matches, withLines ? answer.lines.map(toLogLine) : null)
    return answer.offset
  }

  async function seqAt(i: number): Promise<number | null> {
    if (!seqs.has(i)) await fetchWindow(Math.floor(i / WINDOW) * WINDOW, false)
    return seqs.get(i) ?? null
  }

  /** Makes match `i` the current one and scrolls to it (unless it is already current and `again` is false). */
  async function goTo(i: number, again = true): Promise<void> {
    const seq = await seqAt(i)
    if (seq === null) return
    index.value = i
    if (seq === currentSeq.value && !again) return
    currentSeq.value = seq
    onJump(seq)
  }

  function step(by: 1 | -1): void {
    const count = total.value ?? 0
    if (count === 0) return
    const from = index.value < 0 ? (by === 1 ? -1 : 0) : index.value
    void goTo((from + by + count) % count).catch(() => undefined)
  }

  async function run(): Promise<void> {
    generation += 1
    controller.abort()
    controller = new AbortController()
    seqs.clear()
    lines.clear()
    index.value = -1
    currentSeq.value = null
    error.value = null
    const text = query.value.trim()
    terms = text ? { q: text, regex: regex.value, case_sensitive: caseSensitive.value } : null
    if (!terms) {
      total.value = null
      version.value += 1
      return
    }
    const mine = generation
    const from = topSeq()
    searching.value = true
    counting.value = true
    function failed(caught: unknown): void {
      if (mine !== generation) return
      total.value = null
      currentSeq.value = null
      error.value = fieldErrorMessage(errorMessage(caught), 'q')
    }
    // The first match from here and the count, asked for at once; whichever answers first
    // jumps (both name the same match: the first at or after `from`, else the first of all).
    const first = firstLogMatch(
      executionId,
      { ...terms, from_seq: Math.max(1, from), around: AROUND_FIRST },
      controller.signal,
    )
      .then((answer) => {
        if (mine !== generation || index.value >= 0) return
        if (answer.seq === null) total.value = 0
        else {
          onLines(answer.lines)
          currentSeq.value = answer.seq
          onJump(answer.seq)
        }
      })
      .catch(failed)
      .finally(() => {
        if (mine === generation) searching.value = false
      })
    const count = fetchWindow(0, false, from)
      .then(async (offset) => {
        if (offset < 0 || mine !== generation || !total.value) return
        await goTo(offset < total.value ? offset : 0, false)
      })
      .catch(failed)
      .finally(() => {
        if (mine !== generation) return
        searching.value = false
        counting.value = false
      })
    await Promise.all([first, count])
  }

  /** Searches once typing pauses; a change of the options searches at once. */
  function schedule(delay: number): void {
    if (timer !== null) clearTimeout(timer)
    timer = setTimeout(() => {
      timer = null
      void run()
    }, delay)
  }
  watch(query, () => schedule(SEARCH_DEBOUNCE_MS))
  watch([regex, caseSensitive], () => schedule(0))

  /** The i-th matching line, if its window has arrived. */
  function lineAt(i: number): LogLine | undefined {
    return lines.get(i)
  }

  /** Fetches the lines of matches `from`…`to` that are not here yet. */
  function ensure(from: number, to: number): void {
    if (!terms) return
    for (let start = Math.floor(from / WINDOW) * WINDOW; start <= to; start += WINDOW) {
      if (loading.has(start) || lines.has(start)) continue
      loading.add(start)
      void fetchWindow(start, true)
        .catch(() => undefined)
        .finally(() => loading.delete(start))
    }
  }

  /** The number of the first match at or after `seq` (for "only matching lines" to keep its place). */
  async function indexFrom(seq: number): Promise<number> {
    const offset = await fetchWindow(0, true, seq)
    return Math.max(0, Math.min(offset, (total.value ?? 1) - 1))
  }

  /** Asks for the count again: a running log grows (the server scans only the new lines). */
  async function refresh(): Promise<void> {
    if (!terms || counting.value) return
    const mine = generation
    try {
      const answer = await searchExecutionLog(executionId, { ...terms, offset: 0, limit: 0 }, controller.signal)
      if (mine === generation) total.value = answer.total
    } catch {
      // The next growth of the log asks again.
    }
  }

  /** The seq of a match already fetched. */
  function knownSeq(i: number): number | undefined {
    return seqs.get(i)
  }

  onScopeDispose(() => {
    controller.abort()
    if (timer !== null) clearTimeout(timer)
  })

  return {
    query,
    regex,
    caseSensitive,
    total,
    error,
    searching,
    counting,
    index,
    currentSeq,
    version,
    active,
    matcher,
    next: () => step(1),
    previous: () => step(-1),
    lineAt,
    knownSeq,
    ensure,
    indexFrom,
    refresh,
  }
}
