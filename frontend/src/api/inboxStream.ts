/**
 * Follows an agent's inbox over SSE: `message` events (ordered by the
 * message's `inbox_seq`, its event id), and a `complete` event when the agent
 * is deleted. On connect the server sends what is unread (watching changes no
 * state); resuming, reconnecting and dropping replays is eventStream.ts's job.
 */
import { inboxStreamPath } from './client'
import { followEvents, type ConnectionState, type EventStream } from './eventStream'
import type { AgentMessage, InboxClosedEvent } from './types'

export interface InboxStreamHandlers {
  onMessage: (message: AgentMessage) => void
  onClosed?: (event: InboxClosedEvent) => void
  onConnectionChange?: (state: ConnectionState) => void
}

/** Follows agent `agentId`'s inbox from after `afterSeq` (0: all it holds unread). */
export function followInbox(agentId: string, handlers: InboxStreamHandlers, afterSeq = 0): EventStream {
  return followEvents<AgentMessage, InboxClosedEvent>(
    {
      path: inboxStreamPath(agentId),
      itemEvent: 'message',
      cursorOf: (message) => (typeof message.inbox_seq === 'number' ? message.inbox_seq : null),
      onItem: handlers.onMessage,
      onComplete: handlers.onClosed,
      onConnectionChange: handlers.onConnectionChange,
    },
    { after: afterSeq },
  )
}
