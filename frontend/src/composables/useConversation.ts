import { onScopeDispose, ref, shallowRef } from 'vue'
import { getConversation } from '@/api/client'
import type { ConversationEntry, ConversationUsage } from '@/api/types'
import { Conversation, type Block } from '@/lib/conversation'

/**
 * A run's conversation: its stored entries, loaded page by page on the first
 * `load()` (when the conversation tab is first shown), and the live entries
 * the execution's stream hands to `receive`. Live entries that arrive before
 * the stored ones are in are held back and applied after them; `Conversation`
 * drops whatever both sources gave.
 */
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

  function publish(): void {
    blocks.value = conversation.blocks.slice()
    runUsage.value = conversation.runUsage
    turnTotals.value = conversation.turnTotals
  }

  function receive(entry: ConversationEntry): void {
    if (!loaded.value) held.push(entry)
    else if (conversation.add(entry)) publish()
  }

  async function load(): Promise<void> {
    if (loaded.value || loading.value) return
    loading.value = true
    error.value = null
    try {
      let after = 0
      for (;;) {
        const page = await getConversation(id, { after_seq: after }, controller.signal)
        page.entries.forEach((entry) => conversation.add(entry))
        after = page.last_seq
        if (!page.more) break
      }
      held.forEach((entry) => conversation.add(entry))
      held = []
      loaded.value = true
      publish()
    } catch (caught) {
      if (!controller.signal.aborted) error.value = caught
    } finally {
      loading.value = false
    }
  }

  onScopeDispose(() => controller.abort())
  return { blocks, runUsage, turnTotals, loading, loaded, error, receive, load }
}
