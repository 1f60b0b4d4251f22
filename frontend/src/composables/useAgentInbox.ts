import { onScopeDispose, ref, shallowRef } from 'vue'
import { listInbox, markMessageRead } from '@/api/client'
import type { ConnectionState, EventStream } from '@/api/eventStream'
import { followInbox } from '@/api/inboxStream'
import type { AgentMessage } from '@/api/types'
import { inboxOrder, lastSeq, mergeMessage } from '@/lib/messages'

/** Messages fetched over REST when the inbox opens; the stream adds what comes after. */
const INBOX_LIMIT = 200

/**
 * An agent's inbox, live: loads it over REST (read messages too), then
 * follows the SSE stream from the highest inbox seq loaded, so a reload
 * resumes where the page left off (Last-Event-ID) instead of replaying, and
 * loses nothing sent in between. `onChange` is told whenever the unread count
 * may have changed (a message arrived, one was marked read).
 */
export function useAgentInbox(agentId: string, onChange: () => void = () => undefined) {
  const messages = shallowRef<AgentMessage[]>([])
  const error = shallowRef<unknown>(null)
  const loading = ref(true)
  const connection = ref<ConnectionState | null>(null)
  /** True once the server ended the stream because the agent was deleted. */
  const closed = ref(false)

  const controller = new AbortController()
  let stream: EventStream | null = null

  function receive(message: AgentMessage): void {
    messages.value = mergeMessage(messages.value, message)
    onChange()
  }

  async function start(): Promise<void> {
    loading.value = true
    error.value = null
    stream?.close()
    try {
      messages.value = (await listInbox(agentId, { limit: INBOX_LIMIT }, controller.signal)).sort(inboxOrder)
      stream = followInbox(
        agentId,
        {
          onMessage: receive,
          onClosed: () => {
            closed.value = true
          },
          onConnectionChange: (state) => {
            connection.value = state
          },
        },
        lastSeq(messages.value),
      )
    } catch (caught) {
      if (!controller.signal.aborted) error.value = caught
    } finally {
      loading.value = false
    }
  }

  async function markRead(message: AgentMessage): Promise<void> {
    receive(await markMessageRead(agentId, message.id))
  }

  onScopeDispose(() => {
    controller.abort()
    stream?.close()
  })

  void start()
  return { messages, error, loading, connection, closed, markRead, retry: start }
}
