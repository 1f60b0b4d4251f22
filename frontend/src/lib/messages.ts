/**
 * Pure helpers for the Agents page: the order an inbox is shown in, merging
 * messages that arrive live into it, and turning the compose form into what
 * the API takes.
 */
import type { AgentMessage, MessageInput, MessagePriority, MessageType } from '@/api/types'

const PRIORITY_RANK: Record<MessagePriority, number> = { high: 0, normal: 1, low: 2 }

/** The server's inbox order: high priority first, then oldest first. */
export function inboxOrder(a: AgentMessage, b: AgentMessage): number {
  return PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority] || a.inbox_seq - b.inbox_seq
}

/** `messages` with `incoming` added, or replacing the one with its id; in inbox order. */
export function mergeMessage(messages: readonly AgentMessage[], incoming: AgentMessage): AgentMessage[] {
  return [...messages.filter((message) => message.id !== incoming.id), incoming].sort(inboxOrder)
}

/** The highest inbox seq held: the live stream resumes after it. */
export function lastSeq(messages: readonly AgentMessage[]): number {
  return messages.reduce((highest, message) => Math.max(highest, message.inbox_seq), 0)
}

export function isUnread(message: AgentMessage): boolean {
  return message.status === 'pending' || message.status === 'delivered'
}

/** The compose form as typed: every field a string, `to` empty for a broadcast. */
export interface ComposeForm {
  to: string
  message_type: MessageType
  priority: MessagePriority
  subject: string
  content: string
  ttl: string
  in_reply_to: string | null
}

export function emptyCompose(): ComposeForm {
  return { to: '', message_type: 'message', priority: 'normal', subject: '', content: '', ttl: '', in_reply_to: null }
}

/** A reply to `message`: to its sender, as a response, in its thread. */
export function replyCompose(message: AgentMessage): ComposeForm {
  const subject = message.subject ? `Re: ${message.subject.replace(/^Re: /, '')}` : ''
  return {
    ...emptyCompose(),
    to: message.from_agent_id ?? '',
    message_type: 'response',
    subject,
    in_reply_to: message.id,
  }
}

export class ComposeError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message)
    this.name = 'ComposeError'
  }
}

/**
 * What the API takes for the form; a broadcast has no recipient, any other
 * type needs one. Throws a ComposeError naming the field that is wrong.
 */
export function messageInput(form: ComposeForm): MessageInput {
  const broadcast = form.message_type === 'broadcast'
  if (!broadcast && !form.to) throw new ComposeError('to_agent_id', 'Choose a recipient, or send a broadcast')
  if (!form.content.trim()) throw new ComposeError('content', 'Write the message')
  const ttl = form.ttl.trim()
  if (ttl && !/^[1-9]\d*$/.test(ttl)) throw new ComposeError('ttl_seconds', 'The TTL is a whole number of seconds')
  return {
    message_type: form.message_type,
    priority: form.priority,
    subject: form.subject.trim() || null,
    content: form.content,
    ttl_seconds: ttl ? Number(ttl) : null,
    in_reply_to: form.in_reply_to,
    to_agent_id: broadcast ? null : form.to,
  }
}
