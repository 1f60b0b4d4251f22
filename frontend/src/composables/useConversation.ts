import { onScopeDispose, ref, shallowRef } from 'vue'
import { getConversation } from '@/api/client'
import type { ConversationEntry, ConversationUsage } from '@/api/types'
import { Conversation, type Block } from '@/lib/conversation'

/**
 * A run's conversation: its stored entries, loaded page by page on the first
 * `load()` (when the conversation tab is first shown), and the live entries
 * the execution's stream hands to `receive`.
 *
 * Live entries are held back while stored ones are being read and applied
 * after them, so entries always go in in order (`Conversation` drops what
 * both sources gave). While the stream is down (`pause`) they are held too:
 * the log catches up over REST meanwhile and the stream resumes after it, so
 * `resume` reads the stored entries the stream will not send again first.
 */
/** Live entries kept while the conversation was never shown (see `receive`). */
const MAX_HELD_BEFORE_LOAD = 5000

export function useConversation(id: string) {
  const conversation = new Conversation()
  /** A snapshot of the blocks, replaced (not mutated) whenever they change. */
  const blocks = shallowRef<readonly Block[]>([])
  const runUsage = shallowRef<ConversationUsage | null>(null)
  const turnTotals = shallowRef<ConversationUsage | null>(null)
  const loading = ref(false)
  const loaded = ref(false)
  const error = shallowRef<unknown>(null)
  const controller = new AbortController()
  let held: ConversationEntry[] = []
  let paused = false
  /** The last stored line read. */
  let cursor = 0
  /** The stream came back while stored entries were being read: read once more after. */
  let readAgain = false

  function publish(): void {
    blocks.value = conversation.blocks.slice()
    runUsage.value = conversation.runUsage
    turnTotals.value = conversation.turnTotals
  }

  function receive(entry: ConversationEntry): void {
    if (loaded.value && !loading.value && !paused) {
      if (conversation.add(entry)) publish()
      return
    }
    held.push(entry)
    // Before the tab was ever opened only the latest are needed: `load` reads the rest from
    // storage, where lines are at most a flush interval (250 ms) behind the stream.
    if (!loaded.value && !loading.value && held.length > MAX_HELD_BEFORE_LOAD) held.shift()
  }

  /** Reads the stored entries after what it has, then applies the held live ones. */
  async function readStored(): Promise<void> {
    loading.value = true
    error.value = null
    try {
      let after = Math.max(cursor, conversation.lastSeq)
      for (;;) {
        const page = await getConversation(id, { after_seq: after }, controller.signal)
        page.entries.forEach((entry) => conversation.add(entry))
        after = cursor = page.last_seq
        if (!page.more) break
        publish() // a long conversation shows from its first page on
      }
      loaded.value = true
      if (!paused && !readAgain) {
        held.forEach((entry) => conversation.add(entry))
        held = []
      }
      publish()
    } catch (caught) {
      if (!controller.signal.aborted) error.value = caught
    } finally {
      loading.value = false
    }
    if (readAgain && !error.value) {
      readAgain = false
      await readStored()
    }
  }

  async function load(): Promise<void> {
    if (!loaded.value && !loading.value) await readStored()
  }

  /** The stream is down: hold what comes until `resume`. */
  function pause(): void {
    paused = true
  }

  /** The stream is back (or has ended): read what it will not send again, then go on. */
  async function resume(): Promise<void> {
    paused = false
    if (loading.value) readAgain = true
    else if (loaded.value) await readStored()
  }

  /** After an error: read again from where it stopped. */
  async function retry(): Promise<void> {
    if (!loading.value) await readStored()
  }

  onScopeDispose(() => controller.abort())
  return { blocks, runUsage, turnTotals, loading, loaded, error, receive, load, pause, resume, retry }
}
